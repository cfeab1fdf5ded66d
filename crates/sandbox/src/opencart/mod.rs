//! A stateful simulator of the koppel OpenCart bridge (`koppel-bridge.php`), written from its
//! protocol document (crates/opencart/bridge/PROTOCOL.md), not from koppel's client: the signed
//! `POST /koppel-bridge.php?op=...` calls (HMAC-SHA256, ±300 s, nonces refused when replayed,
//! 401), products and stock by SKU, orders keyset-paged on `(date_modified, order_id)` with the
//! shapes OpenCart's checkout leaves (status 0 never listed, guest checkouts with only a shipping
//! address), customers, and order history deduplicated by marker. The real bridge runs against
//! MariaDB in crates/opencart/tests; this one is for `koppel demo` and `koppel sandbox`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use koppel_sandbox::opencart::{start, OpenCartOptions};
//! let shop = start("127.0.0.1:0".parse().unwrap(), OpenCartOptions::default()).await?;
//! let bridge = format!("{}/koppel-bridge.php", shop.base_url());
//! # let _ = bridge; Ok(()) }
//! ```

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::control::{self, Control, Running};
use crate::seed::SeedConfig;

mod api;
pub mod data;
pub mod registration;

pub use data::{COUPON_CODE, TAX_CLASS_HIGH, TAX_CLASS_LOW};

/// The bridge's shared secret in the sandbox (public, not a secret).
pub const SECRET: &str = "koppel-sandbox-opencart-bridge-secret-0001";

/// How the simulated shop is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCartOptions {
    /// Seed data (shared with the SnelStart simulator, so SKUs agree).
    pub seed: SeedConfig,
    /// OpenCart's VERSION the bridge reports (`3.0.5.0`, `4.0.2.3`, `4.1.0.4`).
    pub version: String,
}

impl Default for OpenCartOptions {
    fn default() -> Self {
        OpenCartOptions {
            seed: SeedConfig::default(),
            version: "4.1.0.4".into(),
        }
    }
}

impl OpenCartOptions {
    /// The schema variant of `version`: `3.0`, `4.0` or `4.1`.
    pub fn schema(&self) -> &'static str {
        if self.version.starts_with("3.") {
            "3.0"
        } else if self.version.starts_with("4.0") {
            "4.0"
        } else {
            "4.1"
        }
    }
}

/// Starts the simulator on `addr` (use `127.0.0.1:0` for a free port).
pub async fn start(addr: SocketAddr, opts: OpenCartOptions) -> std::io::Result<Running> {
    let control = Control::new();
    let app = Arc::new(api::App {
        shop: Mutex::new(data::Shop::seeded(&opts.seed)),
        nonces: Mutex::new(HashSet::new()),
        opts,
    });
    let reset_app = app.clone();
    let reset: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let fresh = data::Shop::seeded(&reset_app.opts.seed);
        *reset_app.shop.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
        reset_app.nonces.lock().unwrap_or_else(|p| p.into_inner()).clear();
    });
    let controls = axum::Router::new()
        .route(
            "/_sandbox/opencart/records",
            axum::routing::post(api::control_records),
        )
        .with_state(app.clone());
    let router = api::router(app, control.clone())
        .merge(controls)
        .merge(control::routes(control.clone(), reset));
    control::serve(router, addr, control).await
}

/// The body of a `[pairs.shop]` table (without `type`) pointing the opencart connector at a
/// simulator at `base_url`, in the shape of the connector's example config. For the runner's
/// simulator registration (`ShopSimulator::config`).
pub fn shop_config(base_url: &str) -> String {
    format!(
        "bridge_url = \"{base_url}/koppel-bridge.php\"\n\
         # the simulator's public sandbox secret, not a secret\n\
         secret = \"{SECRET}\"\n\
         key = \"sku\"\n\n\
         [products]\n\
         tax_classes = {{ \"21\" = {TAX_CLASS_HIGH}, \"9\" = {TAX_CLASS_LOW}, \"0\" = 0 }}\n\n\
         [orders]\n\
         statuses = [2, 3, 5]\n"
    )
}
