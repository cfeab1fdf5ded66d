//! The Magento connector's configuration: the body of a `[pairs.<name>.shop]` table with
//! `type = "magento"` (the `type` key itself is removed before this is parsed).

use std::collections::BTreeMap;

use koppel_core::http::{HttpPolicy, RateLimits};
use koppel_core::{Error, Result, Secret};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

/// Largest page Magento serves when its input limits are on (`webapi/validation/input_limit_enabled`).
pub const MAX_PAGE_SIZE: u32 = 300;

/// Magento 2 shop connection and behaviour.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Shop address without `/rest`, e.g. `https://shop.example.nl`. The API is reached at
    /// `<base_url>/rest/<store_code>/V1`.
    #[schemars(with = "String", url)]
    pub base_url: Url,
    /// Store view code used for reads (orders, customers, current product values), e.g.
    /// `default`. Writes of global product data and stock always go to the `all` scope, so no
    /// store-view copy shadows them.
    #[serde(default = "default_store_code")]
    pub store_code: String,
    /// Credentials of the Magento integration (System > Extensions > Integrations).
    pub auth: AuthConfig,
    /// Whether the shop's catalog prices include VAT: mirror of the Magento setting
    /// `tax/calculation/price_includes_tax` (Stores > Configuration > Sales > Tax > Calculation
    /// Settings > Catalog Prices). SnelStart prices (excl. VAT) are converted when true, and
    /// order amounts are read incl. VAT when true.
    #[serde(default)]
    pub prices_include_tax: bool,
    /// How the shop rounds VAT: mirror of the Magento setting `tax/calculation/algorithm`
    /// (Stores > Configuration > Sales > Tax > Calculation Settings > Tax Calculation Method
    /// Based On): `UNIT_BASE_CALCULATION` (per unit price), `ROW_BASE_CALCULATION` (per row
    /// total, Magento's default) or `TOTAL_BASE_CALCULATION` (on the total). An order's VAT
    /// amounts are judged under this rule.
    #[serde(default)]
    pub tax_calculation_algorithm: TaxCalculationAlgorithm,
    /// Decimals a converted (incl. VAT) price is rounded to, half away from zero. Prices that
    /// need no conversion are sent exactly as SnelStart has them.
    #[serde(default = "default_price_decimals")]
    pub price_decimals: u32,
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
    /// Comments written when SnelStart reports an open amount on an order's invoice.
    #[serde(default = "OrderNoteConfig::open_amounts")]
    pub open_amounts: OrderNoteConfig,
    /// Comments (and optionally a status change) written when SnelStart reports an order paid.
    #[serde(default = "OrderNoteConfig::payments")]
    pub payments: OrderNoteConfig,
    /// Timeouts and retries.
    #[serde(default)]
    pub http: HttpPolicy,
    /// Client-side rate limits for this shop (Magento core has no general throttle; a host
    /// may add one).
    #[serde(default)]
    pub rate_limits: RateLimits,
}

fn default_store_code() -> String {
    "default".into()
}
fn default_price_decimals() -> u32 {
    2
}

/// Magento's tax calculation methods (`Magento\\Tax\\Model\\Calculation::CALC_UNIT_BASE`,
/// `CALC_ROW_BASE`, `CALC_TOTAL_BASE`), spelled as in `core_config_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaxCalculationAlgorithm {
    /// Tax per unit price, rounded, times the quantity.
    UnitBaseCalculation,
    /// Tax per row total, rounded per row (Magento's default).
    #[default]
    RowBaseCalculation,
    /// Tax per row unrounded, rounded on the total (with rounding deltas carried between rows).
    TotalBaseCalculation,
}

impl TaxCalculationAlgorithm {
    /// The canonical rounding rule of the method.
    pub fn vat_rounding(self) -> koppel_core::VatRounding {
        match self {
            TaxCalculationAlgorithm::UnitBaseCalculation => koppel_core::VatRounding::PerUnit,
            TaxCalculationAlgorithm::RowBaseCalculation => koppel_core::VatRounding::PerRow,
            TaxCalculationAlgorithm::TotalBaseCalculation => koppel_core::VatRounding::PerTotal,
        }
    }
}

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// OAuth 1.0a request signing (HMAC-SHA256) with all four integration credentials. Works
    /// on every Magento 2.4 shop.
    #[default]
    Oauth1,
    /// The integration's access token as a plain `Authorization: Bearer` token. Only works when
    /// the merchant enabled "Allow OAuth Access Tokens to be used as standalone Bearer tokens"
    /// (`oauth/consumer/enable_integration_as_bearer`, off by default since 2.4.4).
    Bearer,
}

/// The integration's credentials.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `oauth1` (default) or `bearer`.
    #[serde(default)]
    pub mode: AuthMode,
    /// Integration consumer key (needed for `oauth1`).
    #[serde(default)]
    pub consumer_key: Option<Secret>,
    /// Integration consumer secret (needed for `oauth1`).
    #[serde(default)]
    pub consumer_secret: Option<Secret>,
    /// Integration access token (always needed).
    pub access_token: Secret,
    /// Integration access token secret (needed for `oauth1`).
    #[serde(default)]
    pub access_token_secret: Option<Secret>,
}

/// Product writes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProductsConfig {
    /// Attribute set of products koppel creates (4 = Default).
    pub attribute_set_id: u32,
    /// Visibility of products koppel creates: 1 not visible individually, 2 catalog, 3 search,
    /// 4 catalog and search.
    pub visibility: u8,
    /// VAT percentage -> Magento `tax_class_id`, e.g. `{ "21" = 2, "9" = 5, "0" = 0 }`. A product
    /// whose rate is missing is rejected (field `vat`). Empty: koppel leaves the tax class alone.
    pub tax_classes: BTreeMap<String, u32>,
    /// Category under which product category paths are resolved (2 = "Default Category").
    pub root_category_id: u64,
    /// Create categories of a product's path that do not exist yet; when false such a product
    /// is rejected (field `category`).
    pub create_categories: bool,
    /// Products written per batch (1 to 300). koppel reads the shop's current state of every
    /// product in a batch that it has not written before with one search (`GET /V1/products`
    /// with `sku` `in` the batch's SKUs) instead of one `GET /V1/products/{sku}` each, then
    /// writes only the products that differ. At most 300: Magento's largest page when its
    /// input limits are on.
    pub batch_size: u32,
    /// Removed: product writes are scheduled by the engine, one PUT per product, as many at
    /// once as the flow's `concurrency` (`[pairs.<name>.flows.products] concurrency = 4`) and
    /// `rate_limits.concurrent` allow. Setting it is an error that says so.
    #[schemars(skip)]
    #[serde(rename = "concurrency")]
    pub removed_concurrency: Option<serde::de::IgnoredAny>,
}

impl Default for ProductsConfig {
    fn default() -> Self {
        ProductsConfig {
            attribute_set_id: 4,
            visibility: 4,
            tax_classes: BTreeMap::new(),
            root_category_id: 2,
            create_categories: false,
            batch_size: 50,
            removed_concurrency: None,
        }
    }
}

/// Whether to write Multi-Source Inventory source items or legacy stock items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MsiMode {
    /// MSI when `GET /V1/inventory/sources` answers, legacy stock items when it is 404.
    #[default]
    Auto,
    /// Always MSI source items.
    On,
    /// Always legacy stock items (`/V1/products/{sku}/stockItems/{itemId}`).
    Off,
}

/// Stock writes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StockConfig {
    /// `auto`, `on` or `off`.
    pub msi: MsiMode,
    /// MSI source to write quantities to.
    pub source_code: String,
    /// Most entries per array in one request, when the shop enforces Magento's input limits
    /// (`webapi/validation/input_limit_enabled`, 20 by default). Unset: batches of 100.
    pub input_limit: Option<u32>,
}

impl Default for StockConfig {
    fn default() -> Self {
        StockConfig {
            msi: MsiMode::Auto,
            source_code: "default".into(),
            input_limit: None,
        }
    }
}

/// Order reads.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    /// Order statuses to read (e.g. `processing`, `complete`); empty: every status. Cancelled
    /// orders (state `canceled`, whatever their status) are read as well: one never exported
    /// is skipped, one exported is reported as changed after export.
    pub statuses: Vec<String>,
    /// Orders per page (at most 300).
    pub page_size: u32,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            statuses: vec!["processing".into(), "complete".into()],
            page_size: 100,
        }
    }
}

/// Customer reads.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CustomersConfig {
    /// Customers per page (at most 300).
    pub page_size: u32,
}

impl Default for CustomersConfig {
    fn default() -> Self {
        CustomersConfig { page_size: 100 }
    }
}

/// An order comment koppel writes, with an optional status change.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderNoteConfig {
    /// Comment text. Placeholders: `{invoice}` (SnelStart invoice number), `{amount}` (open or
    /// paid amount), `{total}` (invoice total), `{due}` (due date, open amounts only). The same
    /// text is never written twice on one order.
    pub comment: String,
    /// Order status to set with the comment (e.g. `ready_to_ship` when paid); unset: the status
    /// stays. The status must be assigned to the order's state in Magento. For payments it is
    /// only applied when the invoice is fully paid.
    #[serde(default)]
    pub status: Option<String>,
    /// Notify the customer by e-mail about the comment.
    #[serde(default)]
    pub notify_customer: bool,
}

impl OrderNoteConfig {
    fn open_amounts() -> Self {
        OrderNoteConfig {
            comment: "SnelStart: invoice {invoice}, open {amount} of {total}, due {due}".into(),
            status: None,
            notify_customer: false,
        }
    }
    fn payments() -> Self {
        OrderNoteConfig {
            comment: "SnelStart: invoice {invoice} paid ({amount})".into(),
            status: None,
            notify_customer: false,
        }
    }
}

impl Config {
    /// Checks what serde cannot: credentials for the auth mode, page sizes, the tax class table.
    /// Errors carry the key path below the connector's table.
    pub fn validate(&self) -> Result<()> {
        if !matches!(self.base_url.scheme(), "http" | "https") {
            return Err(Error::config("base_url", "must be an http(s) URL"));
        }
        if self.store_code.trim().is_empty() || self.store_code.contains('/') {
            return Err(Error::config(
                "store_code",
                "must be a store view code such as `default`",
            ));
        }
        if self.auth.mode == AuthMode::Oauth1 {
            for (name, v) in [
                ("consumer_key", &self.auth.consumer_key),
                ("consumer_secret", &self.auth.consumer_secret),
                ("access_token_secret", &self.auth.access_token_secret),
            ] {
                if v.as_ref().is_none_or(|s| s.expose().is_empty()) {
                    return Err(Error::config(
                        format!("auth.{name}"),
                        "required for mode `oauth1` (copy it from System > Extensions > Integrations > \
                         the integration's Integration Details), or set `mode = \"bearer\"` if the shop \
                         accepts integration tokens as Bearer tokens",
                    ));
                }
            }
        }
        if self.auth.access_token.expose().is_empty() {
            return Err(Error::config("auth.access_token", "must not be empty"));
        }
        for (path, size) in [
            ("orders.page_size", self.orders.page_size),
            ("customers.page_size", self.customers.page_size),
            ("products.batch_size", self.products.batch_size),
        ] {
            if size == 0 || size > MAX_PAGE_SIZE {
                return Err(Error::config(
                    path,
                    format!("must be between 1 and {MAX_PAGE_SIZE}"),
                ));
            }
        }
        if self.products.removed_concurrency.is_some() {
            return Err(Error::config(
                "products.concurrency",
                "was removed: product writes run as many at once as the flow's `concurrency` allows \
                 (set it under [pairs.<name>.flows.products])",
            ));
        }
        if self.stock.input_limit == Some(0) {
            return Err(Error::config("stock.input_limit", "must be at least 1"));
        }
        if self.stock.source_code.trim().is_empty() {
            return Err(Error::config("stock.source_code", "must not be empty"));
        }
        if !(1..=4).contains(&self.products.visibility) {
            return Err(Error::config("products.visibility", "must be 1, 2, 3 or 4"));
        }
        if self.price_decimals > 6 {
            return Err(Error::config("price_decimals", "must be at most 6"));
        }
        for key in self.products.tax_classes.keys() {
            if tax_class_key(key).is_none() {
                return Err(Error::config(
                    format!("products.tax_classes.{key}"),
                    "key must be a VAT percentage such as \"21\" or \"9\"",
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
pub const EXAMPLE: &str = r#"type = "magento"
# Shop address without /rest; the API is <base_url>/rest/<store_code>/V1.
base_url = "https://shop.example.nl"
# Store view used for reads; product data and stock are written in scope `all`.
store_code = "default"
# Mirror of Stores > Configuration > Sales > Tax > Catalog Prices (tax/calculation/price_includes_tax).
prices_include_tax = true
# Converted (incl. VAT) prices are rounded to this many decimals, half away from zero.
price_decimals = 2

[auth]
# "oauth1" signs every request (HMAC-SHA256) with the four integration credentials;
# "bearer" sends access_token alone (only if the shop allows integration tokens as Bearer).
mode = "oauth1"
consumer_key = "${MAGENTO_CONSUMER_KEY}"
consumer_secret = "${MAGENTO_CONSUMER_SECRET}"
access_token = "${MAGENTO_ACCESS_TOKEN}"
access_token_secret = "${MAGENTO_ACCESS_TOKEN_SECRET}"

[products]
attribute_set_id = 4        # Default
visibility = 4              # catalog and search
root_category_id = 2        # "Default Category"
create_categories = true
# VAT percentage -> tax_class_id (Stores > Tax Rules); a rate missing here rejects the product.
tax_classes = { "21" = 2, "9" = 5, "0" = 0 }
batch_size = 50             # products read with one search per batch (at most 300)

[stock]
msi = "auto"                # "auto" | "on" | "off"
source_code = "default"
input_limit = 20            # set when webapi/validation/input_limit_enabled is on

[orders]
statuses = ["processing", "complete"]
page_size = 100             # at most 300

[customers]
page_size = 100

[open_amounts]
comment = "SnelStart: invoice {invoice}, open {amount} of {total}, due {due}"

[payments]
comment = "SnelStart: invoice {invoice} paid ({amount})"
status = "ready_to_ship"    # optional status change when fully paid

[rate_limits]
per_minute = 600
"#;
