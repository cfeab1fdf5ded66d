//! `acme`: the kind of binary an integrator builds for one client, on `koppel-runtime`.
//!
//! Acme's shop shows every product name with the brand in front ("Acme Koffiebonen 1 kg"),
//! while the bookkeeper keeps plain names in SnelStart. Instead of a fork, the binary adds a
//! **field-mapping hook in code**: a connector `acme_snelstart` that is the stock SnelStart
//! connector with its product source passed through [`acme_product`]. Everything else is
//! stock: the Magento connector, config loading with `file:line: key.path` errors, the engine,
//! the daemon's scheduler and the run summary.
//!
//! ```text
//! cargo build --examples
//! target/debug/examples/acme --config acme.toml once     # one pass of every flow
//! target/debug/examples/acme --config acme.toml daemon   # every flow on its schedule
//! ```
//!
//! with a config such as
//!
//! ```toml
//! [[pairs]]
//! name = "acme"
//! [pairs.accounting]
//! type = "acme_snelstart"
//! brand = "Acme"                 # the hook's own key; the rest is the stock snelstart config
//! client_key = "${SNELSTART_CLIENT_KEY}"
//! subscription_key = "${SNELSTART_SUBSCRIPTION_KEY}"
//! [pairs.shop]
//! type = "magento"
//! # ... the stock magento config (`koppel init --output -` shows one)
//! [pairs.flows.products]
//! schedule = "1h"
//! ```
//!
//! `examples/tests/acme.rs` runs it against the simulators.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use koppel_core::engine::{Mode, RunOptions};
use koppel_core::http::StatsSnapshot;
use koppel_core::model::Product;
use koppel_core::registry::{ConnectorContext, ConnectorDescriptor, Role};
use koppel_core::{CheckReport, Connector, Endpoints, Error, Page, ReadRequest, Source};
use koppel_runtime::{daemon, logging, report, run, CmdResult, Selection};

// The stock connectors this binary links: naming the crates keeps their registrations.
// (SnelStart is also named below, where `acme_snelstart` builds on its descriptor.)
extern crate koppel_magento;

/// The client's rule: the brand in front of every product name, once.
pub fn acme_product(brand: &str, mut p: Product) -> Product {
    if !brand.is_empty() && !p.name.starts_with(brand) {
        p.name = format!("{brand} {}", p.name);
    }
    p
}

/// A product source with the hook applied to every record it reads (unreadable records pass
/// through as they are: the engine quarantines them, naming record and field).
struct Branded {
    inner: Arc<dyn Source<Product>>,
    brand: String,
}

#[async_trait]
impl Source<Product> for Branded {
    async fn read(&self, request: &ReadRequest) -> koppel_core::Result<Page<Product>> {
        let mut page = self.inner.read(request).await?;
        page.items = page
            .items
            .into_iter()
            .map(|item| item.map(|p| acme_product(&self.brand, p)))
            .collect();
        Ok(page)
    }
}

/// The stock SnelStart connector with [`Branded`] products.
struct AcmeSnelStart {
    inner: Arc<dyn Connector>,
    brand: String,
}

#[async_trait]
impl Connector for AcmeSnelStart {
    fn name(&self) -> &'static str {
        "acme_snelstart"
    }

    fn endpoints(&self) -> Endpoints {
        let mut e = self.inner.endpoints();
        e.product_source = e.product_source.map(|inner| {
            Arc::new(Branded {
                inner,
                brand: self.brand.clone(),
            }) as Arc<dyn Source<Product>>
        });
        e
    }

    async fn check(&self) -> koppel_core::Result<CheckReport> {
        let mut report = self.inner.check().await?;
        report
            .checks
            .push(format!("product names get the brand {:?} in front", self.brand));
        Ok(report)
    }

    fn stats(&self) -> StatsSnapshot {
        self.inner.stats()
    }
}

/// Takes the hook's own key (`brand`) out of the connector table; the rest is the stock
/// SnelStart config.
fn split(value: &serde_json::Value) -> koppel_core::Result<(String, serde_json::Value)> {
    let mut rest = value.clone();
    let brand = match rest.as_object_mut().and_then(|m| m.remove("brand")) {
        Some(serde_json::Value::String(s)) => s,
        Some(other) => return Err(Error::config("brand", format!("expected a string, got {other}"))),
        None => {
            return Err(Error::config(
                "brand",
                "missing key `brand` (the name put in front)",
            ))
        }
    };
    Ok((brand, rest))
}

fn schema() -> schemars::Schema {
    let mut s = (koppel_snelstart::descriptor().config_schema)();
    if let Some(props) = s
        .as_object_mut()
        .and_then(|o| o.get_mut("properties"))
        .and_then(|p| p.as_object_mut())
    {
        props.insert(
            "brand".into(),
            serde_json::json!({"type": "string", "description": "Put in front of every product name in the shop."}),
        );
    }
    s
}

fn example() -> &'static str {
    "type = \"acme_snelstart\"\nbrand = \"Acme\"\nclient_key = \"${SNELSTART_CLIENT_KEY}\"\nsubscription_key = \"${SNELSTART_SUBSCRIPTION_KEY}\"\n"
}

fn validate(value: &serde_json::Value) -> koppel_core::Result<()> {
    let (_, rest) = split(value)?;
    (koppel_snelstart::descriptor().validate)(&rest)
}

fn factory(value: serde_json::Value, ctx: &ConnectorContext) -> koppel_core::Result<Arc<dyn Connector>> {
    let (brand, rest) = split(&value)?;
    let inner = (koppel_snelstart::descriptor().factory)(rest, ctx)?;
    Ok(Arc::new(AcmeSnelStart { inner, brand }))
}

koppel_core::reexports::inventory::submit! {
    ConnectorDescriptor {
        name: "acme_snelstart",
        role: Role::Accounting,
        description: "SnelStart, with Acme's brand in front of product names",
        capabilities: koppel_snelstart::CAPABILITIES,
        config_schema: schema,
        example_config: example,
        validate,
        factory,
    }
}

/// One pass of every flow of every pair; prints the summary; returns the exit code.
pub async fn once(sel: &Selection) -> CmdResult {
    let opts = RunOptions {
        mode: Mode::Run,
        ..RunOptions::default()
    };
    let reports = run::run_pairs(sel, false, &opts).await?;
    print!("{}", logging::redact(&report::summary(&reports)));
    Ok(report::exit_code(&reports))
}

#[allow(dead_code)] // the test drives `once` and the daemon directly
fn main() -> ExitCode {
    let mut config = PathBuf::from("acme.toml");
    let mut command = String::from("once");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => match args.next() {
                Some(c) => config = PathBuf::from(c),
                None => {
                    eprintln!("--config needs a file");
                    return ExitCode::from(2);
                }
            },
            "once" | "daemon" => command = a,
            other => {
                eprintln!("usage: acme [--config FILE] [once|daemon]; unknown {other:?}");
                return ExitCode::from(2);
            }
        }
    }
    logging::init(logging::LogFormat::Human);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(4);
        }
    };
    let sel = Selection::all(config);
    let result = rt.block_on(async {
        match command.as_str() {
            "daemon" => daemon::daemon(&sel).await,
            _ => once(&sel).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(4)),
        Err(f) => {
            eprintln!("error: {f}");
            ExitCode::from(u8::try_from(f.code()).unwrap_or(4))
        }
    }
}
