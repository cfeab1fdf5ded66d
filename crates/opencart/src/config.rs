//! The OpenCart connector's configuration: the body of a `[pairs.<name>.shop]` table with
//! `type = "opencart"` (the `type` key itself is removed before this is parsed).

use std::collections::BTreeMap;

use koppel_core::http::{HttpPolicy, RateLimits};
use koppel_core::{Currency, Error, Result, Secret};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

/// Most records the bridge takes in one call (`max_batch` of its `ping`).
pub const MAX_BATCH: u32 = 500;

/// OpenCart shop reached through the koppel bridge (`koppel-bridge.php` in the shop's root).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Full URL of the bridge file, e.g. `https://shop.example.nl/koppel-bridge.php`. Use https:
    /// the bridge signs requests but does not encrypt them.
    #[schemars(with = "String", url)]
    pub bridge_url: Url,
    /// The shared secret of the bridge (the `secret` of its `koppel-bridge.json`), at least 32
    /// characters.
    pub secret: Secret,
    /// Which product column is the SKU: `sku` (`oc_product.sku`; 4.1: `oc_product_code` code
    /// `SKU`) or `model`.
    #[serde(default)]
    pub key: KeyField,
    /// Order lines carry no SKU: the bridge joins the product. When the product's SKU is empty
    /// (OpenCart's sample products have none) use its `model` instead; when false such a line
    /// rejects the order (field `lines[i].sku`).
    #[serde(default = "yes")]
    pub sku_fallback_model: bool,
    /// The shop's default currency. OpenCart stores every order amount in it, whatever
    /// currency the customer saw (`oc_order.currency_code` with `currency_value` is display only).
    #[serde(default)]
    pub currency: Currency,
    /// Stores (`oc_store.store_id`, 0 = the default store) products are published in.
    #[serde(default = "default_stores")]
    pub store_ids: Vec<u32>,
    /// Product writes.
    #[serde(default)]
    pub products: ProductsConfig,
    /// Stock writes.
    #[serde(default)]
    pub stock: StockConfig,
    /// Order reads.
    #[serde(default)]
    pub orders: OrdersConfig,
    /// Customer reads.
    #[serde(default)]
    pub customers: CustomersConfig,
    /// Order history written when SnelStart reports an open amount on an order's invoice.
    #[serde(default = "HistoryConfig::open_amounts")]
    pub open_amounts: HistoryConfig,
    /// Order history written when SnelStart reports an order paid.
    #[serde(default = "HistoryConfig::payments")]
    pub payments: HistoryConfig,
    /// Timeouts and retries.
    #[serde(default)]
    pub http: HttpPolicy,
    /// Client-side rate limits for the bridge.
    #[serde(default)]
    pub rate_limits: RateLimits,
}

fn yes() -> bool {
    true
}
fn default_stores() -> Vec<u32> {
    vec![0]
}

/// The product column used as SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyField {
    /// The SKU field.
    #[default]
    Sku,
    /// The model field.
    Model,
}

impl KeyField {
    /// The bridge's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyField::Sku => "sku",
            KeyField::Model => "model",
        }
    }
}

/// Product writes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProductsConfig {
    /// VAT percentage -> OpenCart `tax_class_id` (System > Localisation > Taxes > Tax Classes),
    /// e.g. `{ "21" = 9, "9" = 12, "0" = 0 }`. A product whose rate is missing is rejected
    /// (field `vat`). Required: OpenCart prices are excl. tax and the class decides the tax.
    pub tax_classes: BTreeMap<String, u32>,
    /// `weight_class_id` of the kilogram in the shop (1 in a default install).
    pub weight_class_id: u32,
    /// Write an SEO keyword (`<name>-<sku>`, lower case) so the product has a friendly URL.
    pub seo_keyword: bool,
    /// Products per bridge call (1 to 500).
    pub batch_size: u32,
}

impl Default for ProductsConfig {
    fn default() -> Self {
        ProductsConfig {
            tax_classes: BTreeMap::new(),
            weight_class_id: 1,
            seo_keyword: true,
            batch_size: 50,
        }
    }
}

/// Stock writes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StockConfig {
    /// Stock levels per bridge call (1 to 500).
    pub batch_size: u32,
}

impl Default for StockConfig {
    fn default() -> Self {
        StockConfig { batch_size: 100 }
    }
}

/// Order reads.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    /// `order_status_id`s to read (default 2 Processing, 3 Shipped, 5 Complete). 0 (an order
    /// left at the confirm step) is never read.
    pub statuses: Vec<u32>,
    /// Orders per page (1 to 500).
    pub page_size: u32,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            statuses: vec![2, 3, 5],
            page_size: 50,
        }
    }
}

/// Customer reads.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CustomersConfig {
    /// Customers per page (1 to 500).
    pub page_size: u32,
}

impl Default for CustomersConfig {
    fn default() -> Self {
        CustomersConfig { page_size: 100 }
    }
}

/// An order history entry koppel adds (status + comment, as OpenCart's `addOrderHistory`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// Comment text. Placeholders: `{invoice}`, `{amount}` (open or paid amount), `{total}`,
    /// `{due}` (open amounts only). The same entry is never added twice to one order.
    pub comment: String,
    /// `order_status_id` to set with the comment (payments: only when fully paid); unset: the
    /// status stays. The bridge refuses a change into or out of the shop's processing/complete
    /// statuses, because OpenCart would move stock then.
    #[serde(default)]
    pub status: Option<u32>,
}

impl HistoryConfig {
    fn open_amounts() -> Self {
        HistoryConfig {
            comment: "SnelStart: invoice {invoice}, open {amount} of {total}, due {due}".into(),
            status: None,
        }
    }
    fn payments() -> Self {
        HistoryConfig {
            comment: "SnelStart: invoice {invoice} paid ({amount})".into(),
            status: None,
        }
    }
}

impl Config {
    /// Checks what serde cannot. Errors carry the key path below the connector's table.
    pub fn validate(&self) -> Result<()> {
        if !matches!(self.bridge_url.scheme(), "http" | "https") {
            return Err(Error::config("bridge_url", "must be an http(s) URL"));
        }
        let secret = self.secret.expose();
        // `${VAR}` is the runner's placeholder (substituted before connectors are built).
        let placeholder = secret.starts_with("${") && secret.ends_with('}');
        if !placeholder && secret.chars().count() < 32 {
            return Err(Error::config(
                "secret",
                "must be at least 32 characters (the `secret` of the bridge's koppel-bridge.json)",
            ));
        }
        for (path, size) in [
            ("orders.page_size", self.orders.page_size),
            ("customers.page_size", self.customers.page_size),
            ("products.batch_size", self.products.batch_size),
            ("stock.batch_size", self.stock.batch_size),
        ] {
            if size == 0 || size > MAX_BATCH {
                return Err(Error::config(path, format!("must be between 1 and {MAX_BATCH}")));
            }
        }
        if self.orders.statuses.is_empty() || self.orders.statuses.contains(&0) {
            return Err(Error::config(
                "orders.statuses",
                "list at least one order_status_id > 0 (0 is an unconfirmed order)",
            ));
        }
        if self.store_ids.is_empty() {
            return Err(Error::config(
                "store_ids",
                "list at least one store (0 = default)",
            ));
        }
        if self.products.tax_classes.is_empty() {
            return Err(Error::config(
                "products.tax_classes",
                "map each VAT percentage to a tax_class_id, e.g. { \"21\" = 9, \"9\" = 12 }",
            ));
        }
        for key in self.products.tax_classes.keys() {
            if tax_class_key(key).is_none() {
                return Err(Error::config(
                    format!("products.tax_classes.{key}"),
                    "key must be a VAT percentage such as \"21\" or \"9\"",
                ));
            }
        }
        for (path, note) in [("open_amounts", &self.open_amounts), ("payments", &self.payments)] {
            if note.comment.trim().is_empty() {
                return Err(Error::config(format!("{path}.comment"), "must not be empty"));
            }
            if note.status == Some(0) {
                return Err(Error::config(
                    format!("{path}.status"),
                    "must be an order_status_id > 0",
                ));
            }
        }
        Ok(())
    }

    /// The tax class table keyed by normalised percentage.
    pub fn tax_class_table(&self) -> BTreeMap<String, u32> {
        self.products
            .tax_classes
            .iter()
            .filter_map(|(k, v)| tax_class_key(k).map(|k| (k, *v)))
            .collect()
    }
}

/// A VAT percentage as the tax class table's key: `21.00` -> `21`.
pub fn tax_class_key(percentage: &str) -> Option<String> {
    let d: Decimal = percentage.trim().parse().ok()?;
    (d >= Decimal::ZERO && d <= Decimal::ONE_HUNDRED).then(|| d.normalize().to_string())
}

/// A commented example config (the body of a `[pairs.<name>.shop]` table).
pub const EXAMPLE: &str = r#"type = "opencart"
# The koppel bridge copied into the OpenCart root (see crates/opencart/bridge/INSTALL.md).
bridge_url = "https://shop.example.nl/koppel-bridge.php"
# The `secret` of the bridge's koppel-bridge.json (outside the web root).
secret = "${OPENCART_BRIDGE_SECRET}"
key = "sku"                 # "sku" | "model": the product column that holds the SnelStart artikelcode
sku_fallback_model = true   # order lines of products without SKU use the product's model
currency = "EUR"            # the shop's default currency (OpenCart stores order amounts in it)
store_ids = [0]

[products]
# VAT percentage -> tax_class_id (System > Localisation > Taxes > Tax Classes).
tax_classes = { "21" = 9, "9" = 12, "0" = 0 }
weight_class_id = 1         # Kilogram in a default install
seo_keyword = true
batch_size = 50

[stock]
batch_size = 100

[orders]
statuses = [2, 3, 5]        # Processing, Shipped, Complete
page_size = 50

[customers]
page_size = 100

[open_amounts]
comment = "SnelStart: invoice {invoice}, open {amount} of {total}, due {due}"

[payments]
comment = "SnelStart: invoice {invoice} paid ({amount})"
# status = 3                # optional order_status_id when fully paid
"#;
