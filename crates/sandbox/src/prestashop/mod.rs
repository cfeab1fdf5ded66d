//! A stateful PrestaShop webservice simulator (`/api/...`, 1.7 or 8.x behaviour), written from
//! PrestaShop's developer documentation (webservice getting-started, cheat sheet, resources)
//! and its source (classes/webservice/WebserviceRequest.php, WebserviceOutputJSON.php,
//! classes/Product.php, classes/stock/StockAvailable.php, classes/order/*.php):
//!
//! - the key as HTTP Basic user with an empty password (or `ws_key`), 32 characters, with
//!   per-resource methods; `GET /api/` lists them;
//! - JSON output with `output_format=JSON` (XML otherwise), XML-only input (a JSON body is
//!   error 127), `schema=blank` / `schema=synopsis`;
//! - `display`, `filter[...]` (with `date=1` for dates, error 32 without), `sort`, `limit`,
//!   `language`, the `[]` empty list, multilingual fields as `[{id, value}]` or a plain string;
//! - full-record PUT (an omitted field is wiped, an omitted required one is error 41, read-only
//!   ones are error 93), PATCH on 8.x only (405 / code 23 on 1.7), and on 8.x a single-record
//!   JSON GET drops every `""`/`"0"` field (#34794);
//! - products, combinations, stock_availables (no POST, no DELETE), categories, customers,
//!   addresses, countries, currencies, orders with rows, order_details, order_histories,
//!   order_states, messages; fault injection and counters under `/_sandbox/*`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono_tz::Tz;

use crate::control::{self, Control, Running};
use crate::seed::SeedConfig;

mod api;
pub mod data;
pub mod registration;
pub mod schema;
pub mod wire;

pub use data::{
    COUNTRY_NL, STATE_AWAITING_BANKWIRE, STATE_CANCELED, STATE_PAYMENT_ACCEPTED, STATE_PROCESSING,
    STATE_SHIPPED, TAX_RULES_HIGH, TAX_RULES_LOW,
};

/// The webservice key (32 characters, as PrestaShop generates them).
pub const WS_KEY: &str = "KOPPELSANDBOXPRESTASHOPWSKEY0001";

/// Which PrestaShop line the simulator behaves like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrestaVersion {
    /// 1.7.x: no PATCH (405, code 23).
    V17,
    /// 8.x: PATCH; single-record JSON drops empty and `"0"` fields.
    #[default]
    V8,
}

impl PrestaVersion {
    /// Parses `1.7` / `8`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "1.7" | "17" | "v17" => Some(PrestaVersion::V17),
            "8" | "8.x" | "v8" => Some(PrestaVersion::V8),
            _ => None,
        }
    }
}

/// How the simulated shop is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct PrestaOptions {
    /// Seed data (shared with the SnelStart simulator, so SKUs agree).
    pub seed: SeedConfig,
    /// 1.7 or 8.x behaviour.
    pub version: PrestaVersion,
    /// Installed languages (ids; the first is the default). One language makes JSON render
    /// multilingual fields as plain strings.
    pub languages: Vec<u32>,
    /// On 8.x: the key has the PATCH permission (a key from before an upgrade does not).
    pub patch_permission: bool,
    /// Per-resource methods of the key; `None`: every resource, every method.
    pub permissions: Option<BTreeMap<String, Vec<String>>>,
    /// The shop's time zone (`PS_TIMEZONE`).
    pub timezone: Tz,
}

impl Default for PrestaOptions {
    fn default() -> Self {
        PrestaOptions {
            seed: SeedConfig::default(),
            version: PrestaVersion::V8,
            languages: vec![1, 2],
            patch_permission: true,
            permissions: None,
            timezone: chrono_tz::Europe::Amsterdam,
        }
    }
}

/// Read access to a running simulator's state, for tests.
#[derive(Clone)]
pub struct Inspect(Arc<api::App>);

impl Inspect {
    /// Runs `f` on the shop's state.
    pub fn with<T>(&self, f: impl FnOnce(&mut data::Shop) -> T) -> T {
        let mut s = self.0.shop.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }

    /// Changes, removes and adds `orders` or `customers` records (see [`data::Shop::churn`]);
    /// returns the ids added.
    pub fn churn(&self, res: &'static str, change: &[u64], remove: &[u64], add: usize) -> Vec<u64> {
        self.with(|s| s.churn(res, change, remove, add))
    }

    /// Customer e-mails the shop sent on order state changes.
    pub fn mails(&self) -> u64 {
        self.with(|s| s.mails)
    }
}

/// Starts the simulator on `addr` (use `127.0.0.1:0` for a free port).
pub async fn start(addr: SocketAddr, opts: PrestaOptions) -> std::io::Result<Running> {
    start_inspectable(addr, opts).await.map(|(r, _)| r)
}

/// Starts the simulator and returns a handle on its state as well.
pub async fn start_inspectable(addr: SocketAddr, opts: PrestaOptions) -> std::io::Result<(Running, Inspect)> {
    let control = Control::new();
    let seeded = |o: &PrestaOptions| data::Shop::seeded(&o.seed, o.languages.clone(), o.timezone);
    let app = Arc::new(api::App {
        shop: Mutex::new(seeded(&opts)),
        control: control.clone(),
        opts,
    });
    let reset_app = app.clone();
    let reset: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let fresh = seeded(&reset_app.opts);
        *reset_app.shop.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
    });
    let router = api::router(app.clone(), control.clone()).merge(control::routes(control.clone(), reset));
    let running = control::serve(router, addr, control).await?;
    Ok((running, Inspect(app)))
}

/// The body of a `[pairs.shop]` table (without `type = "prestashop"`) that points the
/// `prestashop` connector at a simulator at `base_url`: the sandbox key, the two Dutch tax
/// rules groups, categories created, paid invoices moved to "Payment accepted". `unlimited`
/// lifts the client's concurrency limit (demo speed).
pub fn shop_config(base_url: &str, unlimited: bool) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = format!(
        "base_url = {}\nkey = {}\nversion = \"auto\"\n",
        q(base_url),
        q(WS_KEY)
    );
    if unlimited {
        out.push_str("rate_limits = { concurrent = 64 }\n");
    }
    out.push_str(&format!(
        "\n[products]\ncreate_categories = true\ntax_rules_groups = {{ \"21\" = {TAX_RULES_HIGH}, \"9\" = {TAX_RULES_LOW}, \"0\" = 0 }}\n"
    ));
    out.push_str(&format!("\n[payments]\nstate = {STATE_PAYMENT_ACCEPTED}\n"));
    out
}
