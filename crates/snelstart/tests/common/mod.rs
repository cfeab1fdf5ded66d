//! Shared setup of the tests against the SnelStart simulator.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use koppel_core::model::round_money;
use koppel_core::{
    Charge, Connector, Customer, Order, OrderLine, Page, ReadRequest, Record, Source, TaxMode, WriteItem,
};
use koppel_sandbox::control::Running;
use koppel_sandbox::seed::{articles, SeedConfig};
use koppel_sandbox::snelstart::{self, SnelStartOptions, CLIENT_KEY, SUBSCRIPTION_KEY};
use koppel_snelstart::{Config, SnelStartConnector};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

pub const SEED: SeedConfig = SeedConfig {
    articles: 60,
    orders: 0,
    customers: 0,
    seed: 7,
};

pub async fn sim(opts: SnelStartOptions) -> Running {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    snelstart::start(addr, SnelStartOptions { seed: SEED, ..opts })
        .await
        .unwrap()
}

pub fn config(sim: &Running, extra: Value) -> Config {
    koppel_snelstart::parse(config_json(sim, extra)).unwrap()
}

/// The config table (JSON, without `type`) for a simulator.
pub fn config_json(sim: &Running, extra: Value) -> Value {
    let base = sim.base_url();
    let mut v = json!({
        "client_key": CLIENT_KEY,
        "subscription_key": SUBSCRIPTION_KEY,
        "api_base_url": format!("{base}/v2"),
        "auth_url": format!("{base}/b2b/token"),
        "http": { "max_retries": 2, "initial_backoff_ms": 5, "max_backoff_ms": 20, "timeout_secs": 10 },
        "products": {
            "weight": { "extra_field": "Gewicht" },
            "category": { "extra_field": "Categorie" },
        },
        "orders": { "shipping_article": "VERZEND", "discount_article": "KORTING" },
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

pub fn connector(sim: &Running, extra: Value) -> SnelStartConnector {
    SnelStartConnector::new(config(sim, extra)).unwrap()
}

/// Direct access to the simulator's API, for setting up what a SnelStart user would do.
pub struct SimApi {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl SimApi {
    pub async fn new(sim: &Running) -> SimApi {
        let http = reqwest::Client::new();
        let base = sim.base_url();
        let t: Value = http
            .post(format!("{base}/b2b/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=clientkey&clientkey={}",
                CLIENT_KEY.replace('=', "%3D")
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        SimApi {
            base,
            token: t["access_token"].as_str().unwrap().to_owned(),
            http,
        }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self
            .http
            .request(method, format!("{}/v2{path}", self.base))
            .bearer_auth(&self.token)
            .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION_KEY);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}/_sandbox/snelstart/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// Changes an article's price as a SnelStart user would (GET, change, PUT the write model).
    pub async fn set_price(&self, code: &str, price: f64) {
        let list = self
            .get(&format!("/artikelen?$filter=Artikelcode%20eq%20'{code}'"))
            .await;
        let mut a = list[0].clone();
        let id = a["id"].as_str().unwrap().to_owned();
        a["verkoopprijs"] = json!(price);
        for k in ["isHoofdartikel", "subartikelen"] {
            a.as_object_mut().unwrap().remove(k);
        }
        self.call(reqwest::Method::PUT, &format!("/artikelen/{id}"), Some(a))
            .await;
    }

    /// Creates an article in the group with the given VAT kind.
    pub async fn create_article(&self, code: &str, soort: &str) -> String {
        let groups = self.get("/artikelomzetgroepen").await;
        let group = groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["verkoopNederlandBtwSoort"] == soort)
            .unwrap()["id"]
            .clone();
        let a = self
            .call(
                reqwest::Method::POST,
                "/artikelen",
                Some(json!({
                    "artikelcode": code, "omschrijving": format!("Artikel {code}"),
                    "artikelOmzetgroep": { "id": group }, "verkoopprijs": 0, "voorraadControle": false
                })),
            )
            .await;
        a["id"].as_str().unwrap().to_owned()
    }
}

pub async fn read_all<R: Record>(src: &Arc<dyn Source<R>>, since: Option<DateTime<Utc>>) -> Vec<R> {
    let mut out = Vec::new();
    let mut req = ReadRequest {
        since,
        ..Default::default()
    };
    loop {
        let Page { items, next } = src.read(&req).await.unwrap();
        for i in items {
            out.push(i.unwrap_or_else(|r| panic!("unexpected rejection: {r}")));
        }
        match next {
            Some(n) => req.page = Some(n),
            None => return out,
        }
    }
}

pub fn no_429(sim: &Running) {
    let stats = sim.control.stats();
    assert_eq!(stats.with_status(429), 0, "{stats:?}");
}

pub fn address(street: &str, postcode: &str, city: &str) -> koppel_core::Address {
    koppel_core::Address {
        first_name: Some("Jan".into()),
        last_name: Some("Jansen".into()),
        company: None,
        street: vec![street.into()],
        postcode: postcode.into(),
        city: city.into(),
        region: None,
        country: Some(koppel_core::CountryCode::new("NL").unwrap()),
        phone: None,
    }
}

pub fn customer(key: &str, email: &str) -> Customer {
    Customer {
        key: key.into(),
        email: Some(email.into()),
        first_name: Some("Jan".into()),
        last_name: Some("Jansen".into()),
        company: None,
        phone: None,
        vat_number: None,
        kvk_number: None,
        billing: Some(address("Dorpsstraat 1", "1234 AB", "Utrecht")),
        shipping: None,
        is_guest: false,
        modified: None,
    }
}

pub struct OrderSetup {
    pub relatie: String,
    pub prices: BTreeMap<String, (Decimal, Decimal)>,
}

pub async fn order_setup(sim: &Running, c: &SnelStartConnector) -> OrderSetup {
    let api = SimApi::new(sim).await;
    api.create_article("VERZEND", "Hoog").await;
    api.create_article("KORTING", "Hoog").await;
    let relatie = c
        .endpoints()
        .customer_sink
        .unwrap()
        .write(&WriteItem::new(customer("21", "koper@example.nl")))
        .await
        .unwrap()
        .target_id()
        .to_owned();
    let prices = articles(&SEED)
        .iter()
        .map(|a| (a.sku.clone(), (a.price_excl, a.vat.percentage())))
        .collect();
    OrderSetup { relatie, prices }
}

/// An inclusive order of `lines` (sku, quantity) with shipping 4.95, totals as a shop computes.
pub fn shop_order(number: &str, setup: &OrderSetup, lines: &[(&str, i64)]) -> Order {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|(sku, qty)| {
            let (excl, pct) = setup.prices[*sku];
            let unit = round_money(excl * (Decimal::ONE_HUNDRED + pct) / Decimal::ONE_HUNDRED, 2);
            let qty = Decimal::from(*qty);
            OrderLine {
                sku: Some(koppel_core::Sku::new(*sku).unwrap()),
                name: format!("Product {sku}"),
                quantity: qty,
                unit_price: unit,
                vat_percentage: Some(pct),
                discount: Decimal::ZERO,
                row_total: unit * qty,
                tax: None,
                tax_base: None,
            }
        })
        .collect();
    let grand = lines.iter().map(|l| l.row_total).sum::<Decimal>() + dec!(4.95);
    Order {
        number: number.into(),
        source_id: None,
        created_at: Utc::now(),
        modified: None,
        status: "processing".into(),
        currency: koppel_core::Currency::eur(),
        tax_mode: TaxMode::Inclusive,
        customer: customer("21", "koper@example.nl"),
        billing: address("Dorpsstraat 1", "1234 AB", "Utrecht"),
        shipping: Some(address("Kerkstraat 9", "4321 BA", "Gouda")),
        lines,
        shipping_cost: Some(Charge {
            description: "Verzending".into(),
            amount: dec!(4.95),
            vat_percentage: Some(dec!(21)),
            tax: None,
        }),
        payment_cost: None,
        fees: Vec::new(),
        discount: Decimal::ZERO,
        payment_method: None,
        grand_total: grand,
        tax_total: Decimal::ZERO,
        vat_rounding: Default::default(),
        replaces: Vec::new(),
        cancelled: false,
        note: None,
    }
}

pub fn item(order: Order, setup: &OrderSetup) -> WriteItem<Order> {
    let mut it = WriteItem::new(order);
    it.refs.insert("customer".into(), setup.relatie.clone());
    it
}

pub async fn orders_with_reference(api: &SimApi, number: &str) -> Vec<Value> {
    api.get(&format!(
        "/verkooporders?$filter=Orderreferentie%20eq%20'{number}'"
    ))
    .await
    .as_array()
    .unwrap()
    .clone()
}
