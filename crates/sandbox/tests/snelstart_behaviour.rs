//! Behaviour of the SnelStart simulator over real HTTP: auth, limits, scopes, OData,
//! validation codes, order totals, stock reservation, invoice and payment control.

mod snelstart_common;

use std::time::Duration;

use koppel_sandbox::control::Faults;
use koppel_sandbox::seed::{self, SeedConfig};
use koppel_sandbox::snelstart::{RateLimits, SnelStartOptions, CLIENT_KEY, SUBSCRIPTION_KEY};
use serde_json::{json, Value};
use snelstart_common::{codes, land_id, start, token, Api};

async fn klant(api: &Api) -> String {
    let (_, r) = api
        .get("/relaties?$filter=Email eq 'klant1@example.nl'", "/relaties")
        .await;
    r[0]["id"].as_str().unwrap().to_owned()
}

async fn artikel(api: &Api, code: &str) -> Value {
    let (_, a) = api
        .get(
            &format!("/artikelen?$filter=Artikelcode eq '{code}'"),
            "/artikelen",
        )
        .await;
    a[0].clone()
}

#[tokio::test]
async fn token_endpoint_behaves_like_an_oauth_server() {
    let api = start(SnelStartOptions::default()).await;
    let base = api.sim.base_url();
    let r = api
        .http
        .post(format!("{base}/b2b/token"))
        .form(&[("grant_type", "clientkey"), ("clientkey", CLIENT_KEY)])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["expires_in"], 3599);
    let r = api
        .http
        .post(format!("{base}/b2b/token"))
        .form(&[("grant_type", "clientkey"), ("clientkey", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant");
    let r = api
        .http
        .post(format!("{base}/b2b/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "sandbox-administratie"),
            ("password", "sandbox-wachtwoord"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = api
        .http
        .post(format!("{base}/b2b/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn api_needs_token_and_subscription_key() {
    let api = start(SnelStartOptions::default()).await;
    let url = api.url("/landen");
    let r = api.http.get(&url).bearer_auth(&api.token).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."})
    );
    let r = api
        .http
        .get(&url)
        .bearer_auth(&api.token)
        .header("Ocp-Apim-Subscription-Key", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = api
        .http
        .get(&url)
        .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = api
        .http
        .get(&url)
        .bearer_auth("not-a-token")
        .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(api.get("/landen", "/landen").await.0, 200);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let api = start(SnelStartOptions {
        token_lifetime: Duration::ZERO,
        ..Default::default()
    })
    .await;
    assert_eq!(api.get("/landen", "/landen").await.0, 401);

    let mut api = start(SnelStartOptions::default()).await;
    assert_eq!(api.get("/landen", "/landen").await.0, 200);
    api.sim.control.set_faults(Faults {
        expire_tokens: true,
        ..Default::default()
    });
    assert_eq!(api.get("/landen", "/landen").await.0, 401);
    assert_eq!(
        api.get("/landen", "/landen").await.0,
        401,
        "an expired token stays expired"
    );
    api.token = token(&api.http, &api.sim.base_url()).await;
    assert_eq!(api.get("/landen", "/landen").await.0, 200, "a new token works");
}

#[tokio::test]
async fn rate_limits_answer_429_and_are_counted() {
    let api = start(SnelStartOptions {
        rate_limits: RateLimits {
            per_minute: 3,
            per_hour: 100,
            concurrent: 50,
        },
        ..Default::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(api.get("/landen", "/landen").await.0, 200);
    }
    let r = api.req(reqwest::Method::GET, "/landen").send().await.unwrap();
    assert_eq!(r.status(), 429);
    let secs: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs));
    let stats = api.stats().await;
    assert_eq!(stats.with_status(429), 1);
    assert_eq!(stats.count("GET", "/v2/landen"), 4);

    let api = start(SnelStartOptions {
        rate_limits: RateLimits {
            per_minute: 100,
            per_hour: 2,
            concurrent: 50,
        },
        ..Default::default()
    })
    .await;
    assert_eq!(api.get("/landen", "/landen").await.0, 200);
    assert_eq!(api.get("/landen", "/landen").await.0, 200);
    assert_eq!(api.get("/landen", "/landen").await.0, 429);
}

#[tokio::test]
async fn missing_scope_is_403_naming_it() {
    let api = start(SnelStartOptions {
        missing_scopes: vec!["orders:write".into()],
        ..Default::default()
    })
    .await;
    assert_eq!(api.get("/verkooporders", "/verkooporders").await.0, 200);
    let (s, b) = api
        .call("POST", "/verkooporders", "/verkooporders", Some(&json!({})))
        .await;
    assert_eq!(s, 403);
    assert!(b["message"].as_str().unwrap().contains("orders:write"));
}

#[tokio::test]
async fn paging_and_top_cap() {
    let api = start(SnelStartOptions::default()).await;
    let n = SeedConfig::default().articles;
    let mut codes_seen = Vec::new();
    let mut skip = 0;
    loop {
        let (s, page) = api
            .get(&format!("/artikelen?$skip={skip}&$top=25"), "/artikelen")
            .await;
        assert_eq!(s, 200);
        let page = page.as_array().unwrap().clone();
        codes_seen.extend(page.iter().map(|a| a["artikelcode"].as_str().unwrap().to_owned()));
        if page.len() < 25 {
            break;
        }
        skip += 25;
    }
    // Every article exactly once; pages come in `Id` order (Web API OData's stable ordering
    // with `$skip`/`$top`), not in creation order: SnelStart documents no order.
    let mut ids_seen = codes_seen.clone();
    codes_seen.sort();
    let expected: Vec<String> = (0..n).map(seed::seed_sku).collect();
    assert_eq!(codes_seen, expected);
    ids_seen.dedup();
    assert_eq!(ids_seen.len(), n);

    let (s, b) = api
        .send(api.req(reqwest::Method::GET, "/artikelen?$top=500"))
        .await;
    assert_eq!(s, 400);
    assert_eq!(codes(&b), vec!["ALG-0104".to_owned()]);
    assert_eq!(
        b[0]["message"],
        "The limit of '25' for Top query has been exceeded. The value from the incoming request is '500'"
    );
    let (s, _) = api
        .send(api.req(reqwest::Method::GET, "/relaties?$top=501"))
        .await;
    assert_eq!(s, 400);
    let (s, r) = api.get("/relaties?$top=2&$skip=1", "/relaties").await;
    assert_eq!((s, r.as_array().unwrap().len()), (200, 2));
    let (_, first3) = api.get("/relaties?$top=3", "/relaties").await;
    assert_eq!(r[0]["relatiecode"], first3[1]["relatiecode"]);
}

#[tokio::test]
async fn filters_and_select() {
    let api = start(SnelStartOptions::default()).await;
    let (_, r) = api
        .get("/relaties?$filter=Relatiecode eq 1002", "/relaties")
        .await;
    assert_eq!(r.as_array().unwrap().len(), 1);
    assert_eq!(r[0]["email"], "klant2@example.nl");
    let (_, r) = api
        .get("/relaties?$filter=Relatiesoort/any(r:r eq 'Klant')", "/relaties")
        .await;
    assert_eq!(r.as_array().unwrap().len(), 5);
    let (_, r) = api
        .get(
            "/relaties?$filter=Relatiesoort/any(r:r eq 'Klant') and Naam eq 'Café ''t Hoekje'",
            "/relaties",
        )
        .await;
    assert_eq!(r.as_array().unwrap().len(), 1);
    let id = r[0]["id"].as_str().unwrap();
    let (_, r) = api
        .get(&format!("/relaties?$filter=Id eq guid'{id}'"), "/relaties")
        .await;
    assert_eq!(r.as_array().unwrap().len(), 1);

    let a = artikel(&api, "KP-0007").await;
    assert_eq!(a["artikelcode"], "KP-0007");
    let (_, sel) = api
        .get(
            "/artikelen?$filter=Artikelcode eq 'KP-0007'&$select=Artikelcode,vrijeVoorraad",
            "/artikelen",
        )
        .await;
    let keys: Vec<&String> = sel[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["artikelcode", "vrijeVoorraad"]);

    // ModifiedOn: write, then filter from just before.
    let (_, landen) = api.get("/landen", "/landen").await;
    let before = "2025-01-06T09:03:00";
    let (_, r) = api
        .get(
            &format!("/relaties?$filter=ModifiedOn gt datetime'{before}'"),
            "/relaties",
        )
        .await;
    assert_eq!(r.as_array().unwrap().len(), 1, "seeded relaties at 09:00..09:04");
    let body = json!({"relatiesoort": ["Klant"], "naam": "Nieuw", "vestigingsAdres": {"straat": "A 1",
        "postcode": "1000 AA", "plaats": "Amsterdam", "land": {"id": land_id(&landen, "NL")}}});
    let (s, created) = api.call("POST", "/relaties", "/relaties", Some(&body)).await;
    assert_eq!(s, 201);
    let stamp = created["modifiedOn"].as_str().unwrap();
    assert!(!stamp.contains('+') && !stamp.ends_with('Z'), "{stamp}");
    let (_, r) = api
        .get(
            &format!("/relaties?$filter=ModifiedOn ge datetime'{stamp}'"),
            "/relaties",
        )
        .await;
    assert!(r.as_array().unwrap().iter().any(|x| x["naam"] == "Nieuw"));
    let (_, r) = api
        .get(
            &format!("/relaties?$filter=ModifiedOn gt datetime'{stamp}'"),
            "/relaties",
        )
        .await;
    assert!(!r.as_array().unwrap().iter().any(|x| x["naam"] == "Nieuw"));

    for bad in [
        "email eq 'klant1@example.nl'",
        "Relatiecode eq '1002'",
        "Naam eq 'open",
        "Naam like 'x'",
        "Relatiesoort eq 'Klant'",
        "Uri eq 'x'",
    ] {
        let (s, b) = api
            .send(api.req(reqwest::Method::GET, &format!("/relaties?$filter={bad}")))
            .await;
        assert_eq!((s, codes(&b)), (400, vec!["ALG-0104".to_owned()]), "{bad}");
    }
    let (s, _) = api
        .send(api.req(reqwest::Method::GET, "/relaties?$select=Bestaatniet"))
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn seed_matches_the_shared_seed() {
    let api = start(SnelStartOptions::default()).await;
    let seeded = seed::articles(&SeedConfig::default());
    let (_, groepen) = api.get("/artikelomzetgroepen", "/artikelomzetgroepen").await;
    let soort = |id: &Value| {
        groepen
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == *id)
            .unwrap()["verkoopNederlandBtwSoort"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = artikel(&api, &seeded[0].sku).await;
    assert_eq!(a["omschrijving"], seeded[0].name.as_str());
    assert_eq!(
        a["verkoopprijs"].to_string(),
        seeded[0].price_excl.normalize().to_string()
    );
    assert_eq!(a["technischeVoorraad"], seeded[0].stock);
    assert_eq!(a["vrijeVoorraad"], seeded[0].stock - seeded[0].backorders);
    assert_eq!(
        soort(&a["artikelOmzetgroep"]["id"]),
        format!("{:?}", seeded[0].vat)
    );
    assert_eq!(a["extraVelden"][0]["naam"], "Gewicht");
    assert_eq!(
        a["extraVelden"][0]["waarde"],
        format!("{:.3}", seeded[0].weight).replace('.', ",")
    );
    assert_eq!(
        a["extraVelden"][1],
        json!({"naam": "Categorie", "waarde": seeded[0].category})
    );
    let (_, inactive) = api
        .get("/artikelen?$filter=IsNonActief eq true", "/artikelen")
        .await;
    assert!(!inactive.as_array().unwrap().is_empty());

    let (_, tarieven) = api.get("/btwtarieven", "/btwtarieven").await;
    let has = |soort: &str, pct: i64, from: &str| {
        tarieven.as_array().unwrap().iter().any(|t| {
            t["btwSoort"] == soort
                && t["btwPercentage"] == pct
                && t["datumVanaf"].as_str().unwrap().starts_with(from)
        })
    };
    assert!(has("Laag", 9, "2019-01-01") && has("Hoog", 21, "2012-10-01"));
    assert!(tarieven
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["btwSoort"] == "Laag"
            && t["btwPercentage"] == 6
            && t["datumTotEnMet"] == "2018-12-31T00:00:00"));
    let (_, landen) = api.get("/landen", "/landen").await;
    for iso in ["NL", "BE", "DE", "FR", "GB", "US"] {
        land_id(&landen, iso);
    }
}

#[tokio::test]
async fn relatie_validation_codes() {
    let api = start(SnelStartOptions::default()).await;
    let (_, landen) = api.get("/landen", "/landen").await;
    let nl = land_id(&landen, "NL");
    let be = land_id(&landen, "BE");
    let unknown = "00000000-0000-0000-0000-0000000000aa";
    let adres =
        |land: &str| json!({"straat": "Weg 1", "postcode": "1234 AB", "plaats": "Ede", "land": {"id": land}});
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"relatiesoort": ["Klant"]}), "REL-0007"),
        (json!({"relatiesoort": ["Klant"], "naam": "  "}), "REL-0007"),
        (json!({"relatiesoort": ["Klant"], "naam": long(51)}), "REL-0010"),
        (json!({"relatiesoort": [], "naam": "X"}), "REL-0001"),
        (json!({"relatiesoort": ["Eigen"], "naam": "X"}), "REL-0001"),
        (
            json!({"relatiesoort": ["Klant", "Leverancier"], "naam": "X"}),
            "REL-0065",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "relatiecode": 1001}),
            "REL-0008",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "vestigingsAdres": {"straat": "Weg 1"}}),
            "REL-0060",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "vestigingsAdres": adres(unknown)}),
            "REL-0055",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "correspondentieAdres": adres(unknown)}),
            "REL-0056",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "vestigingsAdres": {"straat": long(51), "postcode": "1", "plaats": "E", "land": {"id": nl}}}),
            "REL-0071",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "vestigingsAdres": {"straat": "W", "postcode": long(26), "plaats": "E", "land": {"id": nl}}}),
            "REL-0072",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "vestigingsAdres": {"straat": "W", "postcode": "1", "plaats": long(51), "land": {"id": nl}}}),
            "REL-0073",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "vestigingsAdres": {"contactpersoon": long(51), "straat": "W", "postcode": "1", "plaats": "E", "land": {"id": nl}}}),
            "REL-0070",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "email": "geen-adres"}),
            "REL-0061",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "email": "a@b.nl;kapot"}),
            "REL-0061",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "telefoon": long(26)}),
            "REL-0012",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "mobieleTelefoon": long(26)}),
            "REL-0013",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "kvkNummer": "1234"}),
            "REL-0006",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "btwNummer": "NL 123"}),
            "REL-0057",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "btwNummer": "BE0123456789", "vestigingsAdres": adres(&nl)}),
            "REL-0058",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "btwNummer": "NL12345678B01"}),
            "REL-0059",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "krediettermijn": 2000}),
            "REL-0003",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "factuurEmailVersturen": {"shouldSend": true}}),
            "REL-0029",
        ),
        (
            json!({"id": unknown, "relatiesoort": ["Klant"], "naam": "X"}),
            "ALG-0100",
        ),
    ];
    for (body, code) in cases {
        let (s, b) = api.call("POST", "/relaties", "/relaties", Some(&body)).await;
        assert_eq!(s, 400, "{body}");
        assert!(
            codes(&b).contains(&code.to_owned()),
            "{body}: expected {code}, got {b}"
        );
    }
    // Valid: Belgian VAT number with a Belgian address, several e-mail addresses.
    let ok = json!({"relatiesoort": ["Klant"], "naam": "Brussel BV", "btwNummer": "BE0123456789",
        "vestigingsAdres": adres(&be), "email": "a@b.be;c@d.be", "kvkNummer": "0123456789"});
    let (s, r) = api.call("POST", "/relaties", "/relaties", Some(&ok)).await;
    assert_eq!(s, 201, "{r}");
    // PUT: relatiesoort is immutable, id must match.
    let rid = r["id"].as_str().unwrap().to_owned();
    let mut upd = ok.clone();
    upd["relatiesoort"] = json!(["Leverancier"]);
    let (s, b) = api
        .call("PUT", &format!("/relaties/{rid}"), "/relaties/{id}", Some(&upd))
        .await;
    assert_eq!((s, codes(&b)), (400, vec!["REL-0064".to_owned()]));
    let mut upd = ok.clone();
    upd["id"] = json!(unknown);
    let (s, b) = api
        .call("PUT", &format!("/relaties/{rid}"), "/relaties/{id}", Some(&upd))
        .await;
    assert_eq!((s, codes(&b)), (400, vec!["ALG-0101".to_owned()]));
}

#[tokio::test]
async fn order_validation_codes() {
    let api = start(SnelStartOptions::default()).await;
    let rid = klant(&api).await;
    let (_, lev) = api
        .get(
            "/relaties?$filter=Relatiesoort/any(r:r eq 'Leverancier')",
            "/relaties",
        )
        .await;
    let lev = lev[0]["id"].as_str().unwrap().to_owned();
    let a = artikel(&api, "KP-0001").await;
    let aid = a["id"].as_str().unwrap();
    let unknown = "00000000-0000-0000-0000-0000000000aa";
    let base = json!({"relatie": {"id": rid}, "datum": "2025-03-01T00:00:00",
        "regels": [{"artikel": {"id": aid}, "aantal": 1}]});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let adres = |k: &str, v: Value| {
        let mut a = json!({"straat": "W", "postcode": "1", "plaats": "E"});
        a[k] = v;
        with("afleveradres", a)
    };
    let long = |n: usize| json!("x".repeat(n));
    let cases: Vec<(Value, &str)> = vec![
        (with("relatie", Value::Null), "VOR-0001"),
        (with("relatie", json!({"id": unknown})), "VOR-0002"),
        (with("relatie", json!({"id": lev})), "VOR-0002"),
        (with("datum", Value::Null), "VOR-0003"),
        (with("procesStatus", json!("Factuur")), "VOR-0004"),
        (with("procesStatus", json!("Contantbon")), "VOR-0004"),
        (with("nummer", json!(5)), "VOR-0005"),
        (adres("contactpersoon", long(51)), "VOR-0006"),
        (adres("straat", long(51)), "VOR-0007"),
        (adres("postcode", long(26)), "VOR-0008"),
        (adres("plaats", long(51)), "VOR-0009"),
        (adres("land", json!({"id": unknown})), "VOR-0010"),
        (with("orderreferentie", long(51)), "VOR-0011"),
        (
            with("regels", json!([{"artikel": {"id": unknown}, "aantal": 1}])),
            "VOR-0012",
        ),
        (
            with("regels", json!([{"omschrijving": "los", "stuksprijs": 5}])),
            "VOR-0013",
        ),
        (with("id", json!(unknown)), "ALG-0100"),
    ];
    for (body, code) in cases {
        let (s, b) = api
            .call("POST", "/verkooporders", "/verkooporders", Some(&body))
            .await;
        assert_eq!(s, 400, "{body}");
        assert!(
            codes(&b).contains(&code.to_owned()),
            "{body}: expected {code}, got {b}"
        );
    }
    let (s, b) = api
        .call("POST", "/verkooporders", "/verkooporders", Some(&base))
        .await;
    assert_eq!(s, 201, "{b}");
}

#[tokio::test]
async fn order_totals_use_the_vat_rate_on_the_order_date() {
    let api = start(SnelStartOptions::default()).await;
    let rid = klant(&api).await;
    let seeded = seed::articles(&SeedConfig::default());
    let laag = seeded.iter().find(|a| a.vat == seed::SeedVat::Laag).unwrap();
    let hoog = seeded.iter().find(|a| a.vat == seed::SeedVat::Hoog).unwrap();
    let l = artikel(&api, &laag.sku).await;
    let h = artikel(&api, &hoog.sku).await;
    let order = |datum: &str, model: &str| {
        json!({"relatie": {"id": rid}, "datum": datum, "verkooporderBtwIngaveModel": model,
        "regels": [
            {"artikel": {"id": l["id"]}, "aantal": 3, "stuksprijs": 10.0, "kortingsPercentage": 10},
            {"artikel": {"id": h["id"]}, "aantal": 1.5, "stuksprijs": 19.99},
            {"omschrijving": "Tekstregel"}
        ]})
    };
    // 3 x 10.00 - 10% = 27.00 (Laag); 1.5 x 19.99 = 29.985 -> 29.99 (Hoog).
    let (s, o) = api
        .call(
            "POST",
            "/verkooporders",
            "/verkooporders",
            Some(&order("2025-03-01T00:00:00", "Exclusief")),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["regels"][0]["totaal"], json!(27));
    assert_eq!(o["regels"][1]["totaal"], json!(29.99));
    assert_eq!(o["regels"][0]["omschrijving"], l["omschrijving"]);
    assert_eq!(o["totaalExclusiefBtw"], json!(56.99));
    // VAT: 27.00 x 9% = 2.43; 29.99 x 21% = 6.2979 -> 6.30
    assert_eq!(o["totaalInclusiefBtw"], json!(65.72));
    // 2018: Laag was 6% -> 27.00 x 6% = 1.62
    let (_, o) = api
        .call(
            "POST",
            "/verkooporders",
            "/verkooporders",
            Some(&order("2018-06-01T00:00:00", "Exclusief")),
        )
        .await;
    assert_eq!(o["totaalInclusiefBtw"], json!(64.91));
    // Prices including VAT: incl = 56.99; excl = 27/1.09 = 24.77 + 29.99/1.21 = 24.79
    let (_, o) = api
        .call(
            "POST",
            "/verkooporders",
            "/verkooporders",
            Some(&order("2025-03-01T00:00:00", "Inclusief")),
        )
        .await;
    assert_eq!(o["totaalInclusiefBtw"], json!(56.99));
    assert_eq!(o["totaalExclusiefBtw"], json!(49.56));
    assert!(o["nummer"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn orders_reserve_stock_and_invoicing_and_payment_work() {
    let api = start(SnelStartOptions::default()).await;
    let rid = klant(&api).await;
    let seeded = seed::articles(&SeedConfig::default());
    let s0 = &seeded[1];
    let a = artikel(&api, &s0.sku).await;
    let free0 = a["vrijeVoorraad"].as_i64().unwrap();
    let body = json!({"relatie": {"id": rid}, "datum": "2025-03-01T00:00:00", "orderreferentie": "WEB-1001",
        "regels": [{"artikel": {"id": a["id"]}, "aantal": 2}]});
    let (s, o) = api
        .call("POST", "/verkooporders", "/verkooporders", Some(&body))
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(
        o["regels"][0]["stuksprijs"].to_string(),
        s0.price_excl.normalize().to_string()
    );
    let a1 = artikel(&api, &s0.sku).await;
    assert_eq!(a1["vrijeVoorraad"].as_i64().unwrap(), free0 - 2);
    assert_eq!(a1["technischeVoorraad"].as_i64().unwrap(), s0.stock);
    let (_, found) = api
        .get(
            "/verkooporders?$filter=Orderreferentie eq 'WEB-1001'",
            "/verkooporders",
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);

    let oid = o["id"].as_str().unwrap().to_owned();
    let (s, f) = api
        .control("/_sandbox/snelstart/invoice", &json!({"verkooporderId": oid}))
        .await;
    assert_eq!(s, 201, "{f}");
    assert_eq!(f["factuurBedrag"], o["totaalInclusiefBtw"]);
    assert_eq!(f["openstaandSaldo"], o["totaalInclusiefBtw"]);
    assert_eq!(f["verkoopOrders"][0]["id"], oid.as_str());
    let (_, o2) = api
        .get(&format!("/verkooporders/{oid}"), "/verkooporders/{id}")
        .await;
    assert_eq!(o2["verkoopfactuur"]["id"], f["id"]);
    let a2 = artikel(&api, &s0.sku).await;
    assert_eq!(a2["technischeVoorraad"].as_i64().unwrap(), s0.stock - 2);
    assert_eq!(a2["vrijeVoorraad"].as_i64().unwrap(), free0 - 2);
    let (s, _) = api
        .control("/_sandbox/snelstart/invoice", &json!({"verkooporderId": oid}))
        .await;
    assert_eq!(s, 409);
    let (s, b) = api
        .call(
            "PUT",
            &format!("/verkooporders/{oid}"),
            "/verkooporders/{id}",
            Some(&body),
        )
        .await;
    assert_eq!((s, codes(&b)), (400, vec!["VOR-0015".to_owned()]));

    let fid = f["id"].as_str().unwrap().to_owned();
    let (s, p) = api
        .control(
            "/_sandbox/snelstart/payment",
            &json!({"verkoopfactuurId": fid, "bedrag": "1.00"}),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let total: rust_decimal::Decimal = f["factuurBedrag"].to_string().parse().unwrap();
    let open: rust_decimal::Decimal = p["openstaandSaldo"].to_string().parse().unwrap();
    assert_eq!(open, total - rust_decimal::Decimal::ONE);
    let (_, unpaid) = api
        .get(
            "/verkoopfacturen?$filter=OpenstaandSaldo gt 0",
            "/verkoopfacturen",
        )
        .await;
    assert_eq!(unpaid.as_array().unwrap().len(), 1);
    let rest = (total - rust_decimal::Decimal::ONE).to_string();
    let (s, _) = api
        .control(
            "/_sandbox/snelstart/payment",
            &json!({"verkoopfactuurId": fid, "bedrag": rest}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, unpaid) = api
        .get(
            "/verkoopfacturen?$filter=OpenstaandSaldo gt 0",
            "/verkoopfacturen",
        )
        .await;
    assert!(unpaid.as_array().unwrap().is_empty());

    // DELETE releases the reservation.
    let (_, o3) = api
        .call("POST", "/verkooporders", "/verkooporders", Some(&body))
        .await;
    let a3 = artikel(&api, &s0.sku).await;
    api.call(
        "DELETE",
        &format!("/verkooporders/{}", o3["id"].as_str().unwrap()),
        "/verkooporders/{id}",
        None,
    )
    .await;
    let a4 = artikel(&api, &s0.sku).await;
    assert_eq!(
        a4["vrijeVoorraad"].as_i64().unwrap(),
        a3["vrijeVoorraad"].as_i64().unwrap() + 2
    );
}

#[tokio::test]
async fn reset_restores_the_seed_and_faults_apply() {
    let api = start(SnelStartOptions::default()).await;
    let body = json!({"relatiesoort": ["Klant"], "naam": "Tijdelijk"});
    assert_eq!(
        api.call("POST", "/relaties", "/relaties", Some(&body)).await.0,
        201
    );
    let (_, before) = api.get("/relaties", "/relaties").await;
    assert_eq!(before.as_array().unwrap().len(), 7);
    api.control("/_sandbox/reset", &Value::Null).await;
    // Tokens are cleared by a reset too.
    assert_eq!(api.get("/relaties", "/relaties").await.0, 401);
    let api = Api {
        token: token(&api.http, &api.sim.base_url()).await,
        ..api
    };
    let (_, after) = api.get("/relaties", "/relaties").await;
    assert_eq!(after.as_array().unwrap().len(), 6);

    api.sim.control.set_faults(Faults {
        burst_429: 1,
        retry_after_secs: 7,
        ..Default::default()
    });
    let r = api.req(reqwest::Method::GET, "/landen").send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["retry-after"].to_str().unwrap()),
        (429, "7")
    );
    api.sim.control.set_faults(Faults {
        malformed_rate: 1.0,
        ..Default::default()
    });
    let (_, list) = api.send(api.req(reqwest::Method::GET, "/relaties")).await;
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == "malformed-record"));
}
