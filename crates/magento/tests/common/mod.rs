//! Shared by the Magento connector's test crates.

use koppel_core::{Money, Product, Sku, TaxMode, VatRate};
use koppel_sandbox::seed::SeedArticle;

/// A seeded SnelStart article as the product koppel writes to the shop.
pub fn product_of(a: &SeedArticle) -> Product {
    Product {
        sku: Sku::new(a.sku.clone()).unwrap(),
        name: a.name.clone(),
        price: Money::eur(a.price_excl),
        tax_mode: TaxMode::Exclusive,
        vat: Some(VatRate::new(a.vat.percentage(), None).unwrap()),
        active: true,
        unit: None,
        weight: Some(a.weight),
        category: vec![a.category.clone()],
        attributes: Default::default(),
        source_id: None,
        modified: None,
    }
}
