//! A stateful Magento 2 REST simulator (`/rest/<store_code>/V1/...`), written from Adobe's
//! web API documentation: OAuth 1.0a (HMAC-SHA256) integration auth with optional plain Bearer,
//! `searchCriteria` search with Magento's paging quirk, products and select-attribute options,
//! categories, legacy stock items and MSI source items, orders with their comments, customers,
//! tax classes and store configuration. Error bodies are Magento's `{"message", "parameters"}`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use koppel_sandbox::magento::{start, MagentoOptions};
//! let shop = start("127.0.0.1:0".parse().unwrap(), MagentoOptions::default()).await?;
//! let base = format!("{}/rest/default/V1", shop.base_url());
//! # let _ = base; Ok(()) }
//! ```

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::control::{self, Control, Running};
use crate::seed::SeedConfig;

mod api;
pub mod data;
pub mod oauth;
pub mod registration;
pub mod search;
pub mod wire;

/// The integration's consumer key.
pub const CONSUMER_KEY: &str = "koppelsandboxconsumerkey00000001";
/// The integration's consumer secret.
pub const CONSUMER_SECRET: &str = "koppelsandboxconsumersecret00001";
/// The integration's access token (also the Bearer token when `bearer_allowed`).
pub const ACCESS_TOKEN: &str = "koppelsandboxaccesstoken00000001";
/// The integration's access-token secret.
pub const ACCESS_TOKEN_SECRET: &str = "koppelsandboxtokensecret00000001";
/// Product tax class "Taxable Goods": Dutch high VAT, 21 %.
pub const TAX_CLASS_HIGH: i64 = 2;
/// Product tax class "Verlaagd tarief": Dutch low VAT, 9 %.
pub const TAX_CLASS_LOW: i64 = 5;

/// How the simulated shop is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct MagentoOptions {
    /// Seed data (shared with the SnelStart simulator, so SKUs agree).
    pub seed: SeedConfig,
    /// Multi-Source Inventory installed: `/V1/inventory/*` exist (else they 404).
    pub msi: bool,
    /// `webapi/validation/input_limit_enabled` with this many entities per array in a request
    /// body; also makes the default page size 20 and the maximum page size 300.
    pub input_limit: Option<usize>,
    /// "Allow OAuth Access Tokens to be used as standalone Bearer tokens" (off since 2.4.4).
    pub bearer_allowed: bool,
    /// Older Magento: a `currentPage` past the last page returns the last page again.
    pub legacy_paging: bool,
    /// `tax/calculation/price_includes_tax`: catalogue prices include VAT.
    pub prices_include_tax: bool,
}

impl Default for MagentoOptions {
    fn default() -> Self {
        MagentoOptions {
            seed: SeedConfig::default(),
            msi: true,
            input_limit: None,
            bearer_allowed: false,
            legacy_paging: true,
            prices_include_tax: true,
        }
    }
}

/// Starts the simulator on `addr` (use `127.0.0.1:0` for a free port).
pub async fn start(addr: SocketAddr, opts: MagentoOptions) -> std::io::Result<Running> {
    let control = Control::new();
    let app = Arc::new(api::App {
        shop: Mutex::new(data::Shop::seeded(&opts.seed, opts.prices_include_tax)),
        nonces: Mutex::new(HashSet::new()),
        control: control.clone(),
        opts,
        edit_plan: Mutex::new(None),
    });
    let reset_app = app.clone();
    let reset: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let fresh = data::Shop::seeded(&reset_app.opts.seed, reset_app.opts.prices_include_tax);
        *reset_app.shop.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
        reset_app.nonces.lock().unwrap_or_else(|p| p.into_inner()).clear();
        *reset_app.edit_plan.lock().unwrap_or_else(|p| p.into_inner()) = None;
    });
    let controls = axum::Router::new()
        .route(
            "/_sandbox/magento/edit-during-read",
            axum::routing::post(api::control_edit_during_read),
        )
        .route(
            "/_sandbox/magento/records",
            axum::routing::post(api::control_records),
        )
        .with_state(app.clone());
    let router = api::router(app, control.clone())
        .merge(controls)
        .merge(control::routes(control.clone(), reset));
    control::serve(router, addr, control).await
}
