//! The shop simulators this build knows, registered like connectors: each shop's simulator
//! (a module of this crate, or a shop crate of its own) submits one [`ShopSimulator`] with
//! `inventory::submit!`. `koppel demo --shop <name>|all`, `koppel sandbox --shop <name>@ADDR`
//! and the end-to-end tests find them here, so no shop is named in the runner's code.
//!
//! A simulator may behave like more than one release of its shop: it lists those as
//! [`ShopSimulator::variants`] (the first is the default), the CLI picks one with
//! `--shop <name>:<variant>`, and [`ShopSimOptions::variant`] carries the choice to `start`.
//!
//! ```ignore
//! inventory::submit! {
//!     koppel_sandbox::registry::ShopSimulator {
//!         name: "magento",
//!         description: "Magento 2 REST (OAuth 1.0a), seeded",
//!         api_path: "/rest/default/V1",
//!         variants: &[],
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShopSimOptions {
    /// The seed data: shared with the SnelStart simulator, so the SKUs, prices and VAT kinds
    /// agree. `orders` and `customers` are the shop's own; `articles` is the catalogue the
    /// orders are drawn from (the shop starts with no products unless it says otherwise).
    pub seed: SeedConfig,
    /// The variant to behave like: one of the simulator's [`ShopSimulator::variants`] (the
    /// runner passes the first when none is chosen), or `""` for a simulator without variants.
    pub variant: &'static str,
}

/// What the config table of a started simulator is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopConfigArgs<'a> {
    /// `http://127.0.0.1:PORT` of the started simulator ([`Running::base_url`]).
    pub base_url: &'a str,
    /// The run is without rate limits (demo speed): the client may lift its own limits too,
    /// e.g. `rate_limits = { concurrent = 64 }`.
    pub unlimited: bool,
    /// The variant the simulator was started as ([`ShopSimOptions::variant`]).
    pub variant: &'static str,
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
    /// The releases of the shop it can behave like (`["8", "1.7"]`), the default first; empty
    /// when it simulates one. Chosen with `--shop <name>:<variant>`; passed to `start` as
    /// [`ShopSimOptions::variant`].
    pub variants: &'static [&'static str],
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
        f.debug_struct("ShopSimulator")
            .field("name", &self.name)
            .field("variants", &self.variants)
            .finish()
    }
}

impl ShopSimulator {
    /// The variant started when none is chosen: the first of [`Self::variants`], or `""`.
    pub fn default_variant(&self) -> &'static str {
        self.variants.first().copied().unwrap_or("")
    }

    /// The registered variant spelled `variant` (`""`: the default), or an error naming the
    /// variants there are.
    pub fn variant(&self, variant: &str) -> Result<&'static str, String> {
        if variant.is_empty() {
            return Ok(self.default_variant());
        }
        if let Some(v) = self.variants.iter().find(|v| **v == variant) {
            return Ok(v);
        }
        Err(if self.variants.is_empty() {
            format!(
                "the {} simulator has no variants; write {0} without \":{variant}\"",
                self.name
            )
        } else {
            format!(
                "the {} simulator has no variant {variant:?}; known: {} (default {})",
                self.name,
                self.variants.join(", "),
                self.default_variant()
            )
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variant_is_chosen_by_name_and_an_unknown_one_lists_the_known() {
        let presta = find_shop("prestashop").expect("registered");
        assert_eq!(presta.default_variant(), "8");
        assert_eq!(presta.variant(""), Ok("8"));
        assert_eq!(presta.variant("1.7"), Ok("1.7"));
        let err = presta.variant("1.6").unwrap_err();
        assert!(err.contains("\"1.6\"") && err.contains("8, 1.7"), "{err}");

        let magento = find_shop("magento").expect("registered");
        assert_eq!(magento.default_variant(), "");
        assert_eq!(magento.variant(""), Ok(""));
        let err = magento.variant("2.4").unwrap_err();
        assert!(err.contains("no variants"), "{err}");
    }
}
