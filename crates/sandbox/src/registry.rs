//! The shop simulators this build knows, registered like connectors: each shop's simulator
//! (a module of this crate, or a shop crate of its own) submits one [`ShopSimulator`] with
//! `inventory::submit!`. `koppel demo --shop <name>|all`, `koppel sandbox --shop <name>@ADDR`
//! and the end-to-end tests find them here, so no shop is named in the runner's code.
//!
//! ```ignore
//! inventory::submit! {
//!     koppel_sandbox::registry::ShopSimulator {
//!         name: "magento",
//!         description: "Magento 2 REST (OAuth 1.0a), seeded",
//!         api_path: "/rest/default/V1",
//!         start: |addr, opts| Box::pin(start(addr, MagentoOptions { seed: opts.seed, ..Default::default() })),
//!         config: shop_config,
//!     }
//! }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use crate::control::Running;
use crate::seed::SeedConfig;

/// What every shop simulator is started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopSimOptions {
    /// The seed data: shared with the SnelStart simulator, so the SKUs, prices and VAT kinds
    /// agree. `orders` and `customers` are the shop's own; `articles` is the catalogue the
    /// orders are drawn from (the shop starts with no products unless it says otherwise).
    pub seed: SeedConfig,
}

/// What the config table of a started simulator is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopConfigArgs<'a> {
    /// `http://127.0.0.1:PORT` of the started simulator ([`Running::base_url`]).
    pub base_url: &'a str,
    /// The run is without rate limits (demo speed): the client may lift its own limits too,
    /// e.g. `rate_limits = { concurrent = 64 }`.
    pub unlimited: bool,
}

/// The future a [`ShopSimulator::start`] returns.
pub type StartFuture = Pin<Box<dyn Future<Output = std::io::Result<Running>> + Send>>;

/// One shop simulator's registration.
pub struct ShopSimulator {
    /// The shop connector it simulates: the `type` of the `[pairs.shop]` table
    /// (`magento`); must be a registered connector's name.
    pub name: &'static str,
    /// One line on what is simulated.
    pub description: &'static str,
    /// The API's path below the base URL, for `koppel sandbox`'s banner (`/rest/default/V1`).
    pub api_path: &'static str,
    /// Starts the simulator, seeded, on `addr` (loopback; port 0 picks a free port).
    pub start: fn(SocketAddr, ShopSimOptions) -> StartFuture,
    /// The body of the `[pairs.shop]` table that points koppel at the started simulator,
    /// without the `type = ...` line: TOML in the form of a connector's example config, with
    /// sub-tables written as `[auth]`, `[products]` (the caller nests them under
    /// `[pairs.shop]`). Its credentials are the simulator's public sandbox keys.
    pub config: fn(&ShopConfigArgs<'_>) -> String,
}

impl std::fmt::Debug for ShopSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopSimulator").field("name", &self.name).finish()
    }
}

inventory::collect!(ShopSimulator);

/// Every registered shop simulator, sorted by name.
pub fn shops() -> Vec<&'static ShopSimulator> {
    let mut all: Vec<_> = inventory::iter::<ShopSimulator>.into_iter().collect();
    all.sort_by_key(|s| s.name);
    all
}

/// The shop simulator registered under `name`.
pub fn find_shop(name: &str) -> Option<&'static ShopSimulator> {
    inventory::iter::<ShopSimulator>
        .into_iter()
        .find(|s| s.name == name)
}
