//! Seed data shared by every simulator, so the SnelStart and shop simulators agree: the same
//! SKUs, names, prices and VAT kinds, generated deterministically from one seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How much to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedConfig {
    /// Articles in SnelStart (and products known to the shop catalogue generator).
    pub articles: usize,
    /// Orders in the shop.
    pub orders: usize,
    /// Registered customers in the shop (the rest of the orders are guests).
    pub customers: usize,
    /// RNG seed: the same seed gives the same data.
    pub seed: u64,
}

impl Default for SeedConfig {
    fn default() -> Self {
        SeedConfig {
            articles: 200,
            orders: 50,
            customers: 20,
            seed: 42,
        }
    }
}

/// SnelStart's VAT kinds as seeded: most articles Hoog (21 %), some Laag (9 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeedVat {
    /// 21 %
    Hoog,
    /// 9 %
    Laag,
}

impl SeedVat {
    /// The Dutch percentage in force since 2019.
    pub fn percentage(&self) -> Decimal {
        match self {
            SeedVat::Hoog => Decimal::from(21),
            SeedVat::Laag => Decimal::from(9),
        }
    }
}

/// One seeded article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedArticle {
    /// SKU / artikelcode, e.g. `KP-0001`.
    pub sku: String,
    /// Description.
    pub name: String,
    /// Sales price excl. VAT, 2 decimals.
    pub price_excl: Decimal,
    /// VAT kind.
    pub vat: SeedVat,
    /// Weight in kg, 3 decimals.
    pub weight: Decimal,
    /// Category name.
    pub category: String,
    /// Technical stock.
    pub stock: i64,
    /// Stock reserved by backorders (free stock = stock - backorders).
    pub backorders: i64,
}

/// The SKU of article `i` (0-based): `KP-0001`, `KP-0002`, ...
pub fn seed_sku(i: usize) -> String {
    format!("KP-{:04}", i + 1)
}

const NOUNS: &[&str] = &[
    "Koffiebonen",
    "Theepot",
    "Mok",
    "Filterhouder",
    "Melkopschuimer",
    "Espressokopje",
    "Thee",
    "Suikerpot",
    "Koffiemolen",
    "Waterkoker",
];
const ADJ: &[&str] = &[
    "Rood", "Blauw", "Groot", "Klein", "Premium", "Bio", "Klassiek", "Modern",
];
const CATEGORIES: &[&str] = &["Koffie", "Thee", "Servies", "Apparaten"];

/// The seeded articles, deterministic for a config.
pub fn articles(cfg: &SeedConfig) -> Vec<SeedArticle> {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    (0..cfg.articles)
        .map(|i| {
            let noun = NOUNS[i % NOUNS.len()];
            let adj = ADJ[rng.random_range(0..ADJ.len())];
            let vat = if noun == "Thee" || noun == "Koffiebonen" {
                SeedVat::Laag
            } else {
                SeedVat::Hoog
            };
            let cents: i64 = rng.random_range(199..=14999);
            let grams: i64 = rng.random_range(50..=5000);
            let stock: i64 = rng.random_range(0..=120);
            let backorders: i64 = if rng.random_bool(0.2) {
                rng.random_range(1..=10)
            } else {
                0
            };
            SeedArticle {
                sku: seed_sku(i),
                name: format!("{noun} {adj} {}", i + 1),
                price_excl: Decimal::new(cents, 2),
                vat,
                weight: Decimal::new(grams, 3),
                category: CATEGORIES[(i / NOUNS.len() + i) % CATEGORIES.len()].to_owned(),
                stock,
                backorders,
            }
        })
        .collect()
}

/// A deterministic RNG for a simulator's own further choices (orders, customers).
pub fn rng(cfg: &SeedConfig, stream: u64) -> StdRng {
    StdRng::seed_from_u64(cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_deterministic_and_mixed() {
        let cfg = SeedConfig::default();
        let a = articles(&cfg);
        assert_eq!(a, articles(&cfg));
        assert_eq!(a.len(), 200);
        assert_eq!(a[0].sku, "KP-0001");
        assert!(a.iter().any(|x| x.vat == SeedVat::Laag) && a.iter().any(|x| x.vat == SeedVat::Hoog));
        let other = articles(&SeedConfig { seed: 7, ..cfg });
        assert_ne!(a, other);
    }
}
