//! The PrestaShop connector's configuration: the body of a `[pairs.<name>.shop]` table with
//! `type = "prestashop"` (the `type` key itself is removed before this is parsed).

use std::collections::BTreeMap;

use koppel_core::http::{HttpPolicy, RateLimits};
use koppel_core::{Error, Result, Secret};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

/// Most records koppel asks for in one list request.
pub const MAX_PAGE_SIZE: u32 = 500;

/// PrestaShop shop connection and behaviour.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Shop address without `/api`, e.g. `https://shop.example.nl`. The webservice is reached
    /// at `<base_url>/api/` (it needs URL rewriting; see PrestaShop's webservice docs).
    #[schemars(with = "String", url)]
    pub base_url: Url,
    /// The webservice key (Advanced Parameters > Webservice), 32 characters. Sent as the HTTP
    /// Basic user name with an empty password, never in the URL.
    pub key: Secret,
    /// `auto` (default): the version is read once from the `PSWS-Version` header; `1.7` or `8`
    /// force it. On 8.x koppel updates with PATCH (when the key has the PATCH permission), on
    /// 1.7 with a complete PUT.
    #[serde(default)]
    pub version: VersionMode,
    /// Language id koppel writes names and descriptions in (others keep their text; a product
    /// koppel creates gets the name in every language).
    #[serde(default = "default_language")]
    pub language_id: u32,
    /// Multistore: the shop (`id_shop`) reads and writes go to; unset on a single shop.
    #[serde(default)]
    pub id_shop: Option<u32>,
    /// Multistore: the shop group of `id_shop` (sent with stock writes).
    #[serde(default)]
    pub id_shop_group: Option<u32>,
    /// The shop's time zone (`PS_TIMEZONE`, Localization > Configuration): PrestaShop stores
    /// and filters dates in local time.
    #[serde(default = "default_timezone")]
    pub timezone: String,
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
    /// What koppel does when SnelStart reports an order's invoice paid.
    #[serde(default)]
    pub payments: PaymentsConfig,
    /// What koppel does when SnelStart reports an open amount on an order's invoice.
    #[serde(default)]
    pub open_amounts: OpenAmountsConfig,
    /// Timeouts and retries.
    #[serde(default)]
    pub http: HttpPolicy,
    /// Client-side rate limits (PrestaShop core has none; a host may).
    #[serde(default)]
    pub rate_limits: RateLimits,
}

fn default_language() -> u32 {
    1
}
fn default_timezone() -> String {
    "Europe/Amsterdam".into()
}

/// Which webservice behaviour to expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
pub enum VersionMode {
    /// Read the `PSWS-Version` response header once.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// PrestaShop 1.7: no PATCH.
    #[serde(rename = "1.7")]
    V17,
    /// PrestaShop 8.x: PATCH.
    #[serde(rename = "8")]
    V8,
}

/// Product writes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProductsConfig {
    /// VAT percentage -> `id_tax_rules_group` (Shipping > Taxes > Tax Rules), e.g.
    /// `{ "21" = 1, "9" = 2 }`. A product whose rate is missing is rejected (field `vat`).
    /// Empty: koppel leaves the tax rules group alone.
    pub tax_rules_groups: BTreeMap<String, u32>,
    /// Category under which product category paths are resolved (2 = "Home").
    pub root_category_id: u64,
    /// Create categories of a product's path that do not exist yet; when false such a product
    /// is rejected (field `category`).
    pub create_categories: bool,
    /// Products read with one request per batch (`filter[reference]=[A|B|...]`).
    pub batch_size: u32,
}

impl Default for ProductsConfig {
    fn default() -> Self {
        ProductsConfig {
            tax_rules_groups: BTreeMap::new(),
            root_category_id: 2,
            create_categories: false,
            batch_size: 50,
        }
    }
}

/// Stock writes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StockConfig {
    /// Stock levels read with one request per batch.
    pub batch_size: u32,
}

impl Default for StockConfig {
    fn default() -> Self {
        StockConfig { batch_size: 50 }
    }
}

/// Order reads.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    /// `current_state` ids to read (Orders > Statuses), e.g. `[2, 3, 4, 5]` (payment accepted,
    /// processing, shipped, delivered); empty: every state.
    pub states: Vec<u32>,
    /// Orders per page (at most 500).
    pub page_size: u32,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            states: vec![2, 3, 4, 5],
            page_size: 50,
        }
    }
}

/// Customer reads.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CustomersConfig {
    /// Customers per page (at most 500).
    pub page_size: u32,
}

impl Default for CustomersConfig {
    fn default() -> Self {
        CustomersConfig { page_size: 100 }
    }
}

/// A paid invoice.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// Order state id to add (a new `order_histories` entry, never a PUT on `orders`) when the
    /// invoice is fully paid, e.g. a custom "Betaald (SnelStart)" state or 2 "Payment accepted".
    /// Written once: an order whose history already has this state is left alone. Unset:
    /// nothing is written.
    pub state: Option<u32>,
    /// Let PrestaShop mail the customer about the new state (`?sendemail=1`).
    pub send_email: bool,
}

/// An open amount.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OpenAmountsConfig {
    /// Private order message (shown to employees only) written for an open amount.
    /// Placeholders: `{invoice}`, `{amount}`, `{total}`, `{due}`. The same text is never
    /// written twice on one order. Unset: nothing is written.
    pub message: Option<String>,
}

impl Default for OpenAmountsConfig {
    fn default() -> Self {
        OpenAmountsConfig {
            message: Some("SnelStart: invoice {invoice}, open {amount} of {total}, due {due}".into()),
        }
    }
}

impl Config {
    /// Checks what serde cannot. Errors carry the key path below the connector's table.
    pub fn validate(&self) -> Result<()> {
        if !matches!(self.base_url.scheme(), "http" | "https") {
            return Err(Error::config("base_url", "must be an http(s) URL"));
        }
        if self.base_url.path().trim_end_matches('/').ends_with("/api") {
            return Err(Error::config(
                "base_url",
                "give the shop address without /api (koppel adds it)",
            ));
        }
        // the 32-character format is checked by `check` (the example carries a placeholder)
        if self.key.expose().trim().is_empty() {
            return Err(Error::config(
                "key",
                "must not be empty (Advanced Parameters > Webservice)",
            ));
        }
        if self.language_id == 0 {
            return Err(Error::config("language_id", "must be a language id (1 or more)"));
        }
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(Error::config(
                "timezone",
                format!(
                    "{:?} is not an IANA time zone such as Europe/Amsterdam",
                    self.timezone
                ),
            ));
        }
        for (path, size) in [
            ("orders.page_size", self.orders.page_size),
            ("customers.page_size", self.customers.page_size),
            ("products.batch_size", self.products.batch_size),
            ("stock.batch_size", self.stock.batch_size),
        ] {
            if size == 0 || size > MAX_PAGE_SIZE {
                return Err(Error::config(
                    path,
                    format!("must be between 1 and {MAX_PAGE_SIZE}"),
                ));
            }
        }
        for key in self.products.tax_rules_groups.keys() {
            if vat_key(key).is_none() {
                return Err(Error::config(
                    format!("products.tax_rules_groups.{key}"),
                    "key must be a VAT percentage such as \"21\" or \"9\"",
                ));
            }
        }
        if self.id_shop_group.is_some() && self.id_shop.is_none() {
            return Err(Error::config(
                "id_shop",
                "set id_shop together with id_shop_group",
            ));
        }
        Ok(())
    }

    /// The tax rules table keyed by normalised percentage.
    pub fn tax_rules_table(&self) -> BTreeMap<String, u32> {
        self.products
            .tax_rules_groups
            .iter()
            .filter_map(|(k, v)| vat_key(k).map(|k| (k, *v)))
            .collect()
    }

    /// Whether the key has PrestaShop's format: 32 letters and digits (WebserviceRequest
    /// `authenticate`: any other length is error 18).
    pub fn key_format_ok(&self) -> bool {
        let k = self.key.expose();
        k.len() == 32 && k.chars().all(|c| c.is_ascii_alphanumeric())
    }

    /// The shop's time zone.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Europe::Amsterdam)
    }
}

/// A VAT percentage as the table's key: `21.00` -> `21`.
pub fn vat_key(percentage: &str) -> Option<String> {
    let d: Decimal = percentage.trim().parse().ok()?;
    (d >= Decimal::ZERO && d <= Decimal::ONE_HUNDRED).then(|| d.normalize().to_string())
}

/// A commented example config (the body of a `[pairs.<name>.shop]` table).
pub const EXAMPLE: &str = r#"type = "prestashop"
# Shop address without /api; the webservice is <base_url>/api/.
base_url = "https://shop.example.nl"
# Advanced Parameters > Webservice: a 32-character key, sent as HTTP Basic user.
key = "${PRESTASHOP_WS_KEY}"
# "auto" reads the PSWS-Version header once; "1.7" or "8" force it (PATCH only on 8).
version = "auto"
language_id = 1
timezone = "Europe/Amsterdam"
# Multistore only:
# id_shop = 1
# id_shop_group = 1

[products]
# VAT percentage -> id_tax_rules_group; a rate missing here rejects the product.
tax_rules_groups = { "21" = 1, "9" = 2 }
root_category_id = 2        # "Home"
create_categories = true
batch_size = 50

[stock]
batch_size = 50

[orders]
states = [2, 3, 4, 5]       # payment accepted, processing, shipped, delivered
page_size = 50

[customers]
page_size = 100

[payments]
state = 2                   # order state added (order_histories) when the invoice is paid
send_email = false

[open_amounts]
message = "SnelStart: invoice {invoice}, open {amount} of {total}, due {due}"
"#;
