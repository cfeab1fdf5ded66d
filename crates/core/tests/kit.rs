//! The conformance kit, run against in-memory connectors: one that conforms and one that
//! does not (so the kit is shown to fail).

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use koppel_core::connector::{CheckReport, Endpoints};
use koppel_core::http::StatsSnapshot;
use koppel_core::registry::{parse_config, ConnectorContext, ConnectorDescriptor, Role};
use koppel_core::testing::samples::{product, stock};
use koppel_core::testing::{hook, Conformance, MemoryConnector, MemorySource, Samples};
use koppel_core::{Capabilities, Connector, Error, Kind, Product, Rejection, Result, StockLevel};
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
        for i in 0..3 {
            products.put(product(
                &format!("KP-{i:04}"),
                dec!(5),
                Some(Utc::now() - TimeDelta::hours(1)),
            ));
        }
        Shared { conn, products }
    })
}

/// Delegates to the shared memory connector; `leaky` logs its token and accepts any token.
struct Mem {
    token: String,
    leaky: bool,
}

#[async_trait]
impl Connector for Mem {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn endpoints(&self) -> Endpoints {
        shared().conn.endpoints()
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
    }))
}

fn leaky_factory(v: serde_json::Value, _: &ConnectorContext) -> Result<Arc<dyn Connector>> {
    let c: Config = parse_config(v)?;
    Ok(Arc::new(Mem {
        token: c.token,
        leaky: true,
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
                shared().products.put_unreadable(
                    Utc::now() - TimeDelta::minutes(1),
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
}
