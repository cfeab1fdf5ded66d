//! The conformance kit, run against in-memory connectors: one that conforms and one that
//! does not (so the kit is shown to fail).

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use koppel_core::connector::{CheckReport, Endpoints};
use koppel_core::http::StatsSnapshot;
use koppel_core::registry::{parse_config, ConnectorContext, ConnectorDescriptor, Role};
use koppel_core::testing::samples::{product, stock};
use koppel_core::testing::{
    hook, mutator, shop_churn, CheckResult, Churn, Churned, Conformance, MemoryConnector, MemorySource,
    Samples, ShopChurn,
};
use koppel_core::{
    Capabilities, Connector, Error, Kind, Page, Product, ReadRequest, Record, Rejection, Result, Source,
    StockLevel,
};
use rust_decimal_macros::dec;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    token: String,
}

struct Shared {
    conn: Arc<MemoryConnector>,
    products: Arc<MemorySource<Product>>,
}

fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let conn = MemoryConnector::new("memory");
        let products = conn.source::<Product>();
        conn.sink::<StockLevel>();
        for i in 0..10 {
            products.put(product(
                &format!("KP-{i:04}"),
                dec!(5),
                Some(Utc::now() - TimeDelta::hours(1) + TimeDelta::seconds(i)),
            ));
        }
        // several pages, so the paging-under-change check has pages to cross
        products.page_size(3);
        Shared { conn, products }
    })
}

/// Delegates to the shared memory connector; `leaky` logs its token and accepts any token;
/// `offset` pages its products with offsets inside the window (the bug of issue 9).
struct Mem {
    token: String,
    leaky: bool,
    offset: bool,
}

/// Offset paging over the shared products, as the sources did before keyset tokens: the
/// paging-under-change check must fail it.
struct OffsetSource;

#[async_trait]
impl Source<Product> for OffsetSource {
    async fn read(&self, req: &ReadRequest) -> Result<Page<Product>> {
        let all: Vec<Product> = shared()
            .products
            .records()
            .into_iter()
            .filter(|p| req.since.is_none_or(|s| p.modified().is_some_and(|m| m > s)))
            .filter(|p| req.until.is_none_or(|u| p.modified().is_none_or(|m| m <= u)))
            .collect();
        let offset: usize = req.page.as_deref().unwrap_or("0").parse().unwrap_or(0);
        let items = all.iter().skip(offset).take(3).cloned().map(Ok).collect();
        let next = (offset + 3 < all.len()).then(|| (offset + 3).to_string());
        Ok(Page { items, next })
    }
}

#[async_trait]
impl Connector for Mem {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn endpoints(&self) -> Endpoints {
        let mut e = shared().conn.endpoints();
        if self.offset {
            e.product_source = Some(Arc::new(OffsetSource));
        }
        e
    }
    async fn check(&self) -> Result<CheckReport> {
        if self.leaky {
            tracing::debug!("checking with token {}", self.token);
        } else if self.token != "good-secret" {
            return Err(Error::Auth {
                message: "token rejected (401)".into(),
            });
        }
        shared().conn.check().await
    }
    fn stats(&self) -> StatsSnapshot {
        shared().conn.stats()
    }
}

fn validate(v: &serde_json::Value) -> Result<()> {
    parse_config::<Config>(v.clone()).map(|_| ())
}

fn factory(v: serde_json::Value, _: &ConnectorContext) -> Result<Arc<dyn Connector>> {
    let c: Config = parse_config(v)?;
    Ok(Arc::new(Mem {
        token: c.token,
        leaky: false,
        offset: false,
    }))
}

fn offset_factory(v: serde_json::Value, _: &ConnectorContext) -> Result<Arc<dyn Connector>> {
    let c: Config = parse_config(v)?;
    Ok(Arc::new(Mem {
        token: c.token,
        leaky: false,
        offset: true,
    }))
}

fn leaky_factory(v: serde_json::Value, _: &ConnectorContext) -> Result<Arc<dyn Connector>> {
    let c: Config = parse_config(v)?;
    Ok(Arc::new(Mem {
        token: c.token,
        leaky: true,
        offset: false,
    }))
}

fn schema() -> schemars::Schema {
    schemars::json_schema!({"type": "object"})
}

static GOOD: ConnectorDescriptor = ConnectorDescriptor {
    name: "memory",
    role: Role::Shop,
    description: "in-memory test connector",
    capabilities: Capabilities {
        sources: &[Kind::Product],
        sinks: &[Kind::StockLevel],
    },
    config_schema: schema,
    example_config: || "# the API token\ntoken = \"${MEMORY_TOKEN}\"\n",
    validate,
    factory,
};

static LEAKY: ConnectorDescriptor = ConnectorDescriptor {
    name: "leaky",
    role: Role::Shop,
    description: "logs its token, accepts any token, claims a sink it lacks",
    capabilities: Capabilities {
        sources: &[Kind::Product],
        sinks: &[Kind::StockLevel, Kind::Order],
    },
    config_schema: schema,
    example_config: || "token = 1\n",
    validate,
    factory: leaky_factory,
};

static OFFSET: ConnectorDescriptor = ConnectorDescriptor {
    name: "offset",
    role: Role::Shop,
    description: "pages its products with offsets inside the window",
    capabilities: Capabilities {
        sources: &[Kind::Product],
        sinks: &[Kind::StockLevel],
    },
    config_schema: schema,
    example_config: || "# the API token\ntoken = \"${MEMORY_TOKEN}\"\n",
    validate,
    factory: offset_factory,
};

/// Changes the first record read, removes the second and adds one, all after the window.
async fn churn_memory(c: Churn) -> Option<Churned> {
    if c.kind != Kind::Product {
        return None;
    }
    let p = &shared().products;
    let mut done = Churned::default();
    if let Some(k) = c.read.first() {
        p.put(product(k, dec!(7), Some(Utc::now())));
        done.changed.push(k.clone());
    }
    if let Some(k) = c.read.get(1) {
        p.remove(k);
        done.removed.push(k.clone());
    }
    let new = format!("KP-N{}", Utc::now().timestamp_micros());
    p.put(product(&new, dec!(8), Some(Utc::now())));
    done.added.push(new);
    Some(done)
}

fn kit(descriptor: &'static ConnectorDescriptor) -> Conformance {
    Conformance {
        descriptor,
        good_config: serde_json::json!({"token": "good-secret"}),
        bad_credentials_config: serde_json::json!({"token": "wrong-secret"}),
        secrets: vec!["good-secret".into(), "wrong-secret".into()],
        samples: Samples {
            stock: vec![stock("KP-0001", dec!(3), None), stock("KP-0002", dec!(4), None)],
            ..Default::default()
        },
        malformed: Some(hook(|on: bool| async move {
            // the memory source has no switch: add or drop an unreadable record
            if on {
                // older than every product, so it is on the first page
                shared().products.put_unreadable(
                    Utc::now() - TimeDelta::hours(2),
                    Rejection::new("product X", Some("price"), "not a number"),
                );
            }
        })),
        touch: Some(hook(|kind: Kind| async move {
            if kind == Kind::Product {
                shared()
                    .products
                    .put(product("KP-0001", dec!(6), Some(Utc::now())));
            }
        })),
        churn: Some(mutator(churn_memory)),
        context: ConnectorContext::default(),
    }
}

#[tokio::test]
async fn kit_passes_a_conforming_connector_and_fails_a_bad_one() {
    let report = kit(&GOOD).run().await;
    report.assert_passed();
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    for want in [
        "example_config",
        "capabilities",
        "check_ok",
        "bad_credentials",
        "incremental_read(product)",
        "far_future_cursor(product)",
        "malformed_record(product)",
        "write_twice(stock_level)",
        "paging_under_change(product)",
        "no_secrets_in_logs",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }

    let report = kit(&LEAKY).run().await;
    assert!(!report.passed());
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        failed,
        vec![
            "example_config",
            "capabilities",
            "bad_credentials",
            "no_secrets_in_logs"
        ],
        "{report:#?}"
    );
    let panic = std::panic::catch_unwind(|| report.assert_passed()).unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("connector leaky fails 4 conformance check(s)"),
        "{msg}"
    );
    assert!(!msg.contains("good-secret"), "{msg}");

    // Offset paging inside the window loses records that did not change: the check says so.
    let report = kit(&OFFSET).run().await;
    // (It also fails malformed_record: it reads only the readable records.)
    let paging: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| c.name == "paging_under_change(product)")
        .collect();
    assert_eq!(paging.len(), 1, "{report:#?}");
    assert!(!paging[0].passed, "{report:#?}");
    assert!(paging[0].detail.contains("never read"), "{}", paging[0].detail);
}

/// The shops' churn: the first read and first unread change, the second read (else the second
/// unread) goes, one is added; only orders and customers.
#[tokio::test]
async fn shop_churn_picks_from_the_first_page_first() {
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    let churn = shop_churn(move |c: ShopChurn| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(c);
            vec!["new".to_owned()]
        }
    });
    let keys = |ks: &[&str]| -> Vec<String> { ks.iter().map(|k| k.to_string()).collect() };
    let done = churn(Churn {
        kind: Kind::Order,
        read: keys(&["a", "b", "c"]),
        unread: keys(&["d", "e"]),
    })
    .await;
    assert_eq!(
        done,
        Some(Churned {
            changed: keys(&["a", "d"]),
            removed: keys(&["b"]),
            added: keys(&["new"]),
        })
    );
    let done = churn(Churn {
        kind: Kind::Customer,
        read: keys(&["a"]),
        unread: keys(&["d", "e"]),
    })
    .await
    .unwrap();
    assert_eq!(done.removed, keys(&["e"]));
    assert_eq!(
        churn(Churn {
            kind: Kind::Product,
            read: keys(&["a", "b"]),
            unread: vec![]
        })
        .await,
        None
    );
    let asked = asked.lock().unwrap();
    assert_eq!(
        *asked,
        vec![
            ShopChurn {
                resource: "orders",
                change: keys(&["a", "d"]),
                remove: keys(&["b"]),
                add: 1
            },
            ShopChurn {
                resource: "customers",
                change: keys(&["a", "d"]),
                remove: keys(&["e"]),
                add: 1
            },
        ]
    );
}
