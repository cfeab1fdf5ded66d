//! The simulated OpenCart bridge's registration for `koppel demo --shop opencart`,
//! `koppel sandbox --shop opencart@ADDR` and the end-to-end tests ([`crate::registry`]).

use super::{shop_config, start, OpenCartOptions};
use crate::registry::{ShopConfigArgs, ShopSimulator};

fn config(args: &ShopConfigArgs<'_>) -> String {
    shop_config(args.base_url)
}

inventory::submit! {
    ShopSimulator {
        name: "opencart",
        description: "OpenCart 4.1 through the koppel PHP bridge (signed requests), simulated",
        api_path: "/koppel-bridge.php",
        variants: &[],
        start: |addr, opts| Box::pin(start(addr, OpenCartOptions { seed: opts.seed, ..OpenCartOptions::default() })),
        config,
    }
}
