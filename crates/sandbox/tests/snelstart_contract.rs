//! Contract tests: the SnelStart simulator accepts what the definition declares, rejects
//! what it does not, and every success response validates against the definition's
//! response schema. Also: the vendored definition equals the shared copy.

mod snelstart_common;

use std::path::Path;

use koppel_sandbox::snelstart::{spec, SnelStartOptions, SUBSCRIPTION_KEY};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use snelstart_common::{codes, land_id, start};

#[test]
fn vendored_definition_equals_the_shared_copy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = root.join("../shared/specs/snelstart-b2b-api-v2.yaml");
    let vendored = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/snelstart-b2b-api-v2.yaml");
    let ours = std::fs::read(&vendored).unwrap();
    assert_eq!(ours, spec::SPEC_YAML.as_bytes());
    let digest = |b: &[u8]| format!("{:x}", Sha256::digest(b));
    // The SHA-256 recorded in spec/SOURCES.md.
    assert_eq!(
        digest(&ours),
        "08a9f5ea4453ae5ebd6867aa029a037efa3b91fdab73f47b910c2bcdde2b6ff2"
    );
    match std::fs::read(&shared) {
        Ok(theirs) => assert_eq!(
            digest(&ours),
            digest(&theirs),
            "vendored spec differs from {shared:?}"
        ),
        Err(_) => eprintln!("notice: {shared:?} not present; skipping the comparison with the shared copy"),
    }
}

#[tokio::test]
async fn every_read_validates_against_the_definition() {
    let api = start(SnelStartOptions::default()).await;
    for (path, template) in [
        ("/artikelen", "/artikelen"),
        ("/artikelen?$top=25&$skip=25", "/artikelen"),
        ("/artikelomzetgroepen", "/artikelomzetgroepen"),
        ("/btwtarieven", "/btwtarieven"),
        ("/landen", "/landen"),
        ("/relaties", "/relaties"),
        ("/verkooporders", "/verkooporders"),
        ("/verkoopfacturen", "/verkoopfacturen"),
        ("/companyInfo", "/companyInfo"),
    ] {
        let (status, body) = api.get(path, template).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.is_array() || template == "/companyInfo", "{path}");
    }
    let (_, artikelen) = api.get("/artikelen", "/artikelen").await;
    assert_eq!(artikelen.as_array().unwrap().len(), 25);
    let id = artikelen[0]["id"].as_str().unwrap();
    let (s, a) = api.get(&format!("/artikelen/{id}"), "/artikelen/{id}").await;
    assert_eq!((s, &a["artikelcode"]), (200, &artikelen[0]["artikelcode"]));
    let (_, groepen) = api.get("/artikelomzetgroepen", "/artikelomzetgroepen").await;
    let gid = groepen[0]["id"].as_str().unwrap();
    let (s, _) = api
        .get(
            &format!("/artikelomzetgroepen/{gid}"),
            "/artikelomzetgroepen/{id}",
        )
        .await;
    assert_eq!(s, 200);
    let (_, landen) = api.get("/landen", "/landen").await;
    let nl = land_id(&landen, "NL");
    let (s, land) = api.get(&format!("/landen/{nl}"), "/landen/{id}").await;
    assert_eq!((s, land["landcodeISO"].as_str()), (200, Some("NL")));
    let (_, relaties) = api.get("/relaties", "/relaties").await;
    let rid = relaties[0]["id"].as_str().unwrap();
    let (s, _) = api.get(&format!("/relaties/{rid}"), "/relaties/{id}").await;
    assert_eq!(s, 200);
    // echo: the definition's `type: object` is an APIM placeholder; the input comes back
    // as a JSON string (not checked against the schema).
    let (s, e) = api.send(api.req(reqwest::Method::GET, "/echo/hallo")).await;
    assert_eq!((s, e), (200, json!("hallo")));
}

#[tokio::test]
async fn writes_validate_against_the_definition() {
    let api = start(SnelStartOptions::default()).await;
    let (_, landen) = api.get("/landen", "/landen").await;
    let nl = land_id(&landen, "NL");
    let relatie = json!({
        "relatiesoort": ["Klant"], "naam": "Contract B.V.", "email": "contract@example.nl",
        "vestigingsAdres": {"straat": "Laan 1", "postcode": "1234 AB", "plaats": "Delft", "land": {"id": nl}},
        "btwNummer": "NL123456789B01", "kvkNummer": "12345678", "telefoon": "015-1234567"
    });
    let (s, r) = api.call("POST", "/relaties", "/relaties", Some(&relatie)).await;
    assert_eq!(s, 201, "{r}");
    let rid = r["id"].as_str().unwrap().to_owned();
    let mut upd = r.clone();
    upd["naam"] = json!("Contract Holding B.V.");
    let (s, r2) = api
        .call("PUT", &format!("/relaties/{rid}"), "/relaties/{id}", Some(&upd))
        .await;
    assert_eq!((s, r2["naam"].as_str()), (200, Some("Contract Holding B.V.")));

    let (_, artikelen) = api.get("/artikelen", "/artikelen").await;
    let aid = artikelen[0]["id"].as_str().unwrap();
    let order = json!({
        "relatie": {"id": rid}, "datum": "2025-03-01T00:00:00", "orderreferentie": "WEB-1001",
        "regels": [{"artikel": {"id": aid}, "aantal": 2, "stuksprijs": 10.0}]
    });
    let (s, o) = api
        .call("POST", "/verkooporders", "/verkooporders", Some(&order))
        .await;
    assert_eq!(s, 201, "{o}");
    let oid = o["id"].as_str().unwrap().to_owned();
    let (s, _) = api
        .get(&format!("/verkooporders/{oid}"), "/verkooporders/{id}")
        .await;
    assert_eq!(s, 200);
    let mut upd = o.clone();
    upd["memo"] = json!("gewijzigd");
    let (s, _) = api
        .call(
            "PUT",
            &format!("/verkooporders/{oid}"),
            "/verkooporders/{id}",
            Some(&upd),
        )
        .await;
    assert_eq!(s, 200);

    let artikel = json!({"artikelcode": "NIEUW-1", "omschrijving": "Nieuw artikel",
        "artikelOmzetgroep": {"id": artikelen[0]["artikelOmzetgroep"]["id"]}, "verkoopprijs": 12.5});
    let (s, a) = api.call("POST", "/artikelen", "/artikelen", Some(&artikel)).await;
    assert_eq!(s, 201, "{a}");

    let (s, f) = api
        .control("/_sandbox/snelstart/invoice", &json!({"verkooporderId": oid}))
        .await;
    assert_eq!(s, 201, "{f}");
    let fid = f["id"].as_str().unwrap();
    let (s, _) = api
        .get(&format!("/verkoopfacturen/{fid}"), "/verkoopfacturen/{id}")
        .await;
    assert_eq!(s, 200);
    let (s, list) = api.get("/verkoopfacturen", "/verkoopfacturen").await;
    assert_eq!((s, list.as_array().unwrap().len()), (200, 1));

    let (s, o2) = api
        .call("POST", "/verkooporders", "/verkooporders", Some(&order))
        .await;
    assert_eq!(s, 201);
    let (s, d) = api
        .call(
            "DELETE",
            &format!("/verkooporders/{}", o2["id"].as_str().unwrap()),
            "/verkooporders/{id}",
            None,
        )
        .await;
    assert_eq!((s, d), (201, json!({})));
}

#[tokio::test]
async fn requests_outside_the_definition_are_rejected() {
    let api = start(SnelStartOptions::default()).await;
    // Path not declared.
    let (s, b) = api.send(api.req(reqwest::Method::GET, "/klanten")).await;
    assert_eq!((s, b["statusCode"].as_u64()), (404, Some(404)));
    // Declared path, undeclared method.
    let (s, _) = api.send(api.req(reqwest::Method::PATCH, "/relaties")).await;
    assert_eq!(s, 404);
    // Declared but not simulated.
    let (s, _) = api.send(api.req(reqwest::Method::GET, "/dagboeken")).await;
    assert_eq!(s, 501);
    // Undeclared query parameter.
    let (s, b) = api
        .send(api.req(reqwest::Method::GET, "/relaties?$orderby=Naam"))
        .await;
    assert_eq!((s, codes(&b)), (400, vec!["SIM-0002".to_owned()]));
    // Query parameter of the wrong type.
    let (s, b) = api
        .send(api.req(reqwest::Method::GET, "/relaties?$skip=abc"))
        .await;
    assert_eq!((s, codes(&b)), (400, vec!["ALG-0104".to_owned()]));
    // $select is an OData option, not allowed on a non-OData list.
    let (s, _) = api
        .send(api.req(reqwest::Method::GET, "/landen?$select=Naam"))
        .await;
    assert_eq!(s, 400);
    // The subscription key may also come as a query parameter.
    let r = api
        .http
        .get(api.url(&format!("/landen?subscription-key={SUBSCRIPTION_KEY}")))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (_, landen) = api.get("/landen", "/landen").await;
    let nl = land_id(&landen, "NL");
    for (body, path) in [
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "kleur": "rood"}),
            "kleur",
        ),
        (json!({"relatiesoort": "Klant", "naam": "X"}), "relatiesoort"),
        (json!({"relatiesoort": ["Klant"], "naam": 42}), "naam"),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "incassoSoort": "Soms"}),
            "incassoSoort",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "vestigingsAdres": {"land": {"id": "NL"}}}),
            "vestigingsAdres.land.id",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "vestigingsAdres": {"huisnummer": "1", "land": {"id": nl}}}),
            "vestigingsAdres.huisnummer",
        ),
        (
            json!({"relatiesoort": ["Klant"], "naam": "X", "iban": "N".repeat(51)}),
            "iban",
        ),
    ] {
        let (s, b) = api.call("POST", "/relaties", "/relaties", Some(&body)).await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(codes(&b), vec!["SIM-0001".to_owned()], "{body}: {b}");
        assert!(b[0]["message"].as_str().unwrap().starts_with(path), "{b}");
    }
    let (s, b) = api
        .send(
            api.req(reqwest::Method::POST, "/relaties")
                .header("content-type", "application/json")
                .body("{nope"),
        )
        .await;
    assert_eq!((s, codes(&b)), (400, vec!["SIM-0001".to_owned()]));
}

#[tokio::test]
async fn unknown_ids_are_404_with_a_message() {
    let api = start(SnelStartOptions::default()).await;
    let missing = "00000000-0000-0000-0000-000000000001";
    for path in [
        "/artikelen",
        "/relaties",
        "/verkooporders",
        "/verkoopfacturen",
        "/landen",
        "/artikelomzetgroepen",
    ] {
        let (s, b) = api.get(&format!("{path}/{missing}"), "").await;
        assert_eq!(s, 404, "{path}");
        assert!(b["message"].as_str().unwrap().contains(missing), "{b}");
    }
    let body: Value = json!({"relatiesoort": ["Klant"], "naam": "X"});
    let (s, _) = api
        .call(
            "PUT",
            &format!("/relaties/{missing}"),
            "/relaties/{id}",
            Some(&body),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = api
        .call(
            "DELETE",
            &format!("/verkooporders/{missing}"),
            "/verkooporders/{id}",
            None,
        )
        .await;
    assert_eq!(s, 404);
}
