//! The conformance kit: generic checks every connector crate runs against its simulator.
//!
//! ```ignore
//! let kit = Conformance {
//!     descriptor: koppel_magento::descriptor(),
//!     good_config: json!({ "base_url": sim.url(), "token": "sim-token" }),
//!     bad_credentials_config: json!({ "base_url": sim.url(), "token": "wrong" }),
//!     secrets: vec!["sim-token".into(), "wrong".into()],
//!     samples: Samples { products: vec![...], ..Default::default() },
//!     malformed: Some(hook(move |on| async move { sim.set_malformed(on).await })),
//!     touch: Some(hook(move |kind| async move { sim.touch(kind).await })),
//!     churn: Some(mutator(move |c: Churn| async move { sim.churn(c).await })),
//!     context: ConnectorContext::default(),
//! };
//! kit.assert_conforms().await;
//! ```
//!
//! A shop connector fills in only its own part, [`ShopConformance`], which reads an order from
//! the simulator for the open-amount and payment samples; [`shop_churn`] and
//! [`records_churn`] give the usual churn of a shop's orders and customers:
//!
//! ```ignore
//! ShopConformance {
//!     descriptor: koppel_myshop::descriptor(),
//!     good_config, bad_credentials_config, secrets,
//!     products: vec![/* new products, one the shop has */],
//!     stock: vec![/* SKUs the shop has */],
//!     malformed: Some(malformed_fault(sim.base_url())),
//!     churn: Some(records_churn(format!("{}/_sandbox/myshop/records", sim.base_url()))),
//! }
//! .assert_conforms()
//! .await;
//! ```
//!
//! One file per check group: `connector` (config, capabilities, credentials), `source`
//! (incremental reads, far-future cursor, malformed records), `sink` (writing twice),
//! `paging` (paging under change); this file runs them in order under a log capture and
//! checks the captured logs for secrets; `shop` is the shops' shared set-up and `control` the
//! hooks over the simulators' control endpoints.

mod capture;
mod connector;
mod control;
mod inputs;
mod paging;
mod read;
mod report;
mod shop;
mod sink;
mod source;

pub use control::{malformed_fault, records_churn};
pub use inputs::{hook, mutator, Churn, Churned, Hook, Mutator, Samples};
pub use report::{CheckResult, ConformanceReport};
pub use shop::{shop_churn, ShopChurn, ShopConformance};

use self::capture::Buffer;
use crate::model::{Customer, Kind, OpenAmount, Order, PaymentStatus, Product, StockLevel};
use crate::registry::{ConnectorContext, ConnectorDescriptor};

/// What a connector test fills in.
pub struct Conformance {
    /// The connector's registration.
    pub descriptor: &'static ConnectorDescriptor,
    /// A config that works against the simulator.
    pub good_config: serde_json::Value,
    /// The same config with wrong credentials.
    pub bad_credentials_config: serde_json::Value,
    /// Every secret value in both configs (and tokens the simulator hands out): none may
    /// appear in the captured logs.
    pub secrets: Vec<String>,
    /// Records to write, per sink kind.
    pub samples: Samples,
    /// Turns the simulator's malformed-record fault on (`true`) and off (`false`).
    pub malformed: Option<Hook<bool>>,
    /// Changes one record of a kind at the simulator (for the incremental-read check). Without
    /// it, the check only verifies that the second read returns nothing older than the first
    /// read's `until`.
    pub touch: Option<Hook<Kind>>,
    /// Changes, removes and adds records between two page reads (the paging-under-change
    /// check, run for every source kind after the other checks). Without it the check is
    /// reported as failed: every source must page correctly while records change.
    pub churn: Option<Mutator>,
    /// The context passed to the factory.
    pub context: ConnectorContext,
}

impl Conformance {
    /// Runs every check and returns the report (never panics on connector misbehaviour:
    /// a panic inside the connector is reported as a failed check).
    pub async fn run(&self) -> ConformanceReport {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        let dispatch = tracing::Dispatch::new(subscriber);
        let mut report = ConformanceReport {
            connector: self.descriptor.name.into(),
            checks: Vec::new(),
        };
        self.checks(&mut report, &dispatch).await;
        let logs = buffer.text();
        let leaked: Vec<usize> = self
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty() && logs.contains(s.as_str()))
            .map(|(i, _)| i)
            .collect();
        report.push(
            "no_secrets_in_logs",
            if leaked.is_empty() {
                Ok(format!(
                    "{} bytes of TRACE logs, {} secrets absent",
                    logs.len(),
                    self.secrets.len()
                ))
            } else {
                Err(format!(
                    "secrets #{leaked:?} (by index in `secrets`) appear in the logs"
                ))
            },
        );
        report
    }

    /// Runs every check, prints the report and panics with a clear message if one fails.
    pub async fn assert_conforms(&self) {
        let report = self.run().await;
        report.print();
        report.assert_passed();
    }

    async fn checks(&self, report: &mut ConformanceReport, dispatch: &tracing::Dispatch) {
        let Some(good) = self.config_checks(report, dispatch).await else {
            return;
        };

        let e = good.endpoints();
        self.source_checks::<Product>(report, dispatch, &e).await;
        self.source_checks::<StockLevel>(report, dispatch, &e).await;
        self.source_checks::<Customer>(report, dispatch, &e).await;
        self.source_checks::<Order>(report, dispatch, &e).await;
        self.source_checks::<OpenAmount>(report, dispatch, &e).await;
        self.source_checks::<PaymentStatus>(report, dispatch, &e).await;

        let s = &self.samples;
        self.sink_check(report, dispatch, &e, &s.products).await;
        self.sink_check(report, dispatch, &e, &s.stock).await;
        self.sink_check(report, dispatch, &e, &s.customers).await;
        self.sink_check(report, dispatch, &e, &s.orders).await;
        self.sink_check(report, dispatch, &e, &s.open_amounts).await;
        self.sink_check(report, dispatch, &e, &s.payments).await;

        // Last, since it changes and removes records at the simulator.
        self.paging_check::<Product>(report, dispatch, &e).await;
        self.paging_check::<StockLevel>(report, dispatch, &e).await;
        self.paging_check::<Customer>(report, dispatch, &e).await;
        self.paging_check::<Order>(report, dispatch, &e).await;
        self.paging_check::<OpenAmount>(report, dispatch, &e).await;
        self.paging_check::<PaymentStatus>(report, dispatch, &e).await;
    }
}
