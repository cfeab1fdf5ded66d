//! The PrestaShop simulator's registration for `koppel demo --shop prestashop`,
//! `koppel sandbox --shop prestashop@ADDR` and the end-to-end tests (`crate::registry`), as
//! PrestaShop 8.x (the default) or 1.7 (`--shop prestashop:1.7`).

use super::{shop_config, start, PrestaOptions, PrestaVersion};
use crate::registry::{ShopConfigArgs, ShopSimOptions, ShopSimulator, StartFuture};

/// The variants, as `--shop prestashop:<variant>` spells them; the first is the default.
const VARIANTS: &[&str] = &["8", "1.7"];

fn config(args: &ShopConfigArgs<'_>) -> String {
    shop_config(args.base_url, args.unlimited)
}

fn start_variant(addr: std::net::SocketAddr, opts: ShopSimOptions) -> StartFuture {
    // The runner passes a registered variant; "" (no choice) is the default.
    let version = PrestaVersion::parse(opts.variant).unwrap_or_default();
    Box::pin(start(
        addr,
        PrestaOptions {
            seed: opts.seed,
            version,
            ..PrestaOptions::default()
        },
    ))
}

inventory::submit! {
    ShopSimulator {
        name: "prestashop",
        description: "PrestaShop webservice, 8.x (PATCH) or 1.7 (full PUT only); key as Basic user, JSON out, XML in; seeded",
        api_path: "/api",
        variants: VARIANTS,
        start: start_variant,
        config,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_names_a_version_and_the_default_is_8() {
        for v in VARIANTS {
            assert!(PrestaVersion::parse(v).is_some(), "{v}");
        }
        assert_eq!(PrestaVersion::parse(VARIANTS[0]), Some(PrestaVersion::V8));
        assert_eq!(PrestaVersion::parse("1.7"), Some(PrestaVersion::V17));
    }
}
