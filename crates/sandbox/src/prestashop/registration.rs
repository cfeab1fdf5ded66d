//! The PrestaShop simulator's registration for `koppel demo --shop prestashop`,
//! `koppel sandbox --shop prestashop@ADDR` and the end-to-end tests (`crate::registry`).

use super::{shop_config, start, PrestaOptions};
use crate::registry::{ShopConfigArgs, ShopSimulator};

fn config(args: &ShopConfigArgs<'_>) -> String {
    shop_config(args.base_url, args.unlimited)
}

inventory::submit! {
    ShopSimulator {
        name: "prestashop",
        description: "PrestaShop 8 webservice (key as Basic user, JSON out, XML in, PATCH), seeded",
        api_path: "/api",
        start: |addr, opts| Box::pin(start(addr, PrestaOptions { seed: opts.seed, ..PrestaOptions::default() })),
        config,
    }
}
