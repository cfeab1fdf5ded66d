//! The Magento simulator's registration for `koppel demo`, `koppel sandbox` and the
//! end-to-end tests ([`crate::registry`]), with the config table that points the `magento`
//! connector at it.

use std::fmt::Write as _;

use super::{start, MagentoOptions, ACCESS_TOKEN, ACCESS_TOKEN_SECRET, CONSUMER_KEY, CONSUMER_SECRET};
use super::{TAX_CLASS_HIGH, TAX_CLASS_LOW};
use crate::registry::{ShopConfigArgs, ShopSimulator};

fn toml_str(s: &str) -> String {
    // The keys are plain ASCII; quote like TOML's basic strings.
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The `[pairs.shop]` body for a simulator at `args.base_url`: OAuth 1.0a integration keys,
/// catalogue prices including VAT, the two Dutch tax classes.
pub fn shop_config(args: &ShopConfigArgs<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "base_url = {}", toml_str(args.base_url));
    out.push_str("store_code = \"default\"\nprices_include_tax = true\n");
    if args.unlimited {
        out.push_str("rate_limits = { concurrent = 64 }\n");
    }
    out.push_str("\n[auth]\nmode = \"oauth1\"\n");
    let _ = writeln!(out, "consumer_key = {}", toml_str(CONSUMER_KEY));
    let _ = writeln!(out, "consumer_secret = {}", toml_str(CONSUMER_SECRET));
    let _ = writeln!(out, "access_token = {}", toml_str(ACCESS_TOKEN));
    let _ = writeln!(out, "access_token_secret = {}", toml_str(ACCESS_TOKEN_SECRET));
    let _ = writeln!(
        out,
        "\n[products]\ncreate_categories = true\ntax_classes = {{ \"21\" = {TAX_CLASS_HIGH}, \"9\" = {TAX_CLASS_LOW}, \"0\" = 0 }}"
    );
    out
}

inventory::submit! {
    ShopSimulator {
        name: "magento",
        description: "Magento 2 REST API (OAuth 1.0a integration, MSI, searchCriteria paging)",
        api_path: "/rest/default/V1",
        variants: &[],
        start: |addr, opts| {
            Box::pin(start(addr, MagentoOptions { seed: opts.seed, ..MagentoOptions::default() }))
        },
        config: shop_config,
    }
}
