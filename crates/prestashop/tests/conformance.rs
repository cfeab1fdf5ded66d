//! The core conformance kit against the PrestaShop simulator, in 1.7 and 8.x modes.

mod common;

use koppel_core::testing::{malformed_fault, shop_churn, ShopChurn, ShopConformance};
use koppel_core::Sku;
use koppel_sandbox::prestashop::{PrestaVersion, WS_KEY};
use koppel_sandbox::seed::{self, SeedConfig};

async fn conforms(version: PrestaVersion) {
    let (sim, state) = common::sim(version).await;
    let good = common::config(&sim.base_url());
    let mut bad = good.clone();
    bad["key"] = "WRONGKEYWRONGKEYWRONGKEYWRONGKEY".into();

    let arts = seed::articles(&SeedConfig::default());
    ShopConformance {
        descriptor: koppel_prestashop::descriptor(),
        good_config: good,
        bad_credentials_config: bad,
        secrets: vec![WS_KEY.into(), "WRONGKEYWRONGKEYWRONGKEYWRONGKEY".into()],
        // two new products and one the shop already has
        products: arts.iter().skip(49).take(3).map(common::product_of).collect(),
        stock: arts
            .iter()
            .take(3)
            .map(|a| Sku::new(a.sku.clone()).unwrap())
            .collect(),
        malformed: Some(malformed_fault(sim.base_url())),
        // keys are the shop's ids
        churn: Some(shop_churn(move |c: ShopChurn| {
            let state = state.clone();
            async move {
                let ids = |keys: &[String]| -> Vec<u64> { keys.iter().map(|k| k.parse().unwrap()).collect() };
                state
                    .churn(c.resource, &ids(&c.change), &ids(&c.remove), c.add)
                    .into_iter()
                    .map(|id| id.to_string())
                    .collect()
            }
        })),
    }
    .assert_conforms()
    .await;
}

#[tokio::test]
async fn prestashop_8_conforms() {
    conforms(PrestaVersion::V8).await;
}

#[tokio::test]
async fn prestashop_17_conforms() {
    conforms(PrestaVersion::V17).await;
}
