//! The SnelStart connector's configuration: the body of a `[pairs.<name>.accounting]` table
//! (without its `type = "snelstart"` key).

use std::collections::BTreeMap;

use koppel_core::http::{HttpPolicy, RateLimits};
use koppel_core::{Error, Result, Secret};
use schemars::JsonSchema;
use serde::Deserialize;

/// Default token endpoint.
pub const DEFAULT_AUTH_URL: &str = "https://auth.snelstart.nl/b2b/token";
/// Default API base (version included).
pub const DEFAULT_API_BASE_URL: &str = "https://b2bapi.snelstart.nl/v2";

/// Configuration of one SnelStart administration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The koppelsleutel (client key) the user created for this administration in SnelStart
    /// Web. Exchanged for an access token at `auth_url`.
    pub client_key: Secret,
    /// The partner's API subscription key (developer portal, "Products"), sent as
    /// `Ocp-Apim-Subscription-Key` on every call.
    pub subscription_key: Secret,
    /// Base URL of the B2B API, including the version.
    #[serde(default = "default_api_base_url")]
    pub api_base_url: String,
    /// Token endpoint (`grant_type=clientkey`).
    #[serde(default = "default_auth_url")]
    pub auth_url: String,
    /// Which kind of subscription key this is; sets the default rate limits:
    /// `production` (Maatwerk/Productie: 500 calls/min, 5,000/hour, 50 concurrent) or
    /// `test` (Ontwikkeling & Test: 100/min, 1,000/hour, 5 concurrent).
    #[serde(default)]
    pub key_kind: KeyKind,
    /// Explicit rate limits for this administration; overrides the `key_kind` defaults.
    #[serde(default)]
    pub rate_limits: Option<RateLimits>,
    /// Timeouts and retries.
    #[serde(default)]
    pub http: HttpPolicy,
    /// Records per page (`$top`) for lists other than articles; SnelStart's maximum is 500.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Records per page (`$top`) for articles; SnelStart's maximum is 25.
    #[serde(default = "default_article_page_size")]
    pub article_page_size: u32,
    /// How long reference data (article groups, VAT rates, countries, company settings) is
    /// kept before it is read again, in seconds.
    #[serde(default = "default_reference_ttl")]
    pub reference_ttl_secs: u64,
    /// How articles become products.
    #[serde(default)]
    pub products: ProductsConfig,
    /// Which stock level is read.
    #[serde(default)]
    pub stock: StockConfig,
    /// How shop customers become relaties.
    #[serde(default)]
    pub customers: CustomersConfig,
    /// How shop orders become verkooporders.
    #[serde(default)]
    pub orders: OrdersConfig,
}

fn default_api_base_url() -> String {
    DEFAULT_API_BASE_URL.to_owned()
}
fn default_auth_url() -> String {
    DEFAULT_AUTH_URL.to_owned()
}
fn default_page_size() -> u32 {
    500
}
fn default_article_page_size() -> u32 {
    25
}
fn default_reference_ttl() -> u64 {
    600
}

/// The kind of subscription key, for default rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Maatwerk or Productie key: 500 calls/min, 5,000/hour, 50 concurrent.
    #[default]
    Production,
    /// Ontwikkeling & Test key: 100 calls/min, 1,000/hour, 5 concurrent.
    Test,
}

impl KeyKind {
    /// SnelStart's published limits per administration for this kind of key.
    pub fn limits(self) -> RateLimits {
        match self {
            KeyKind::Production => RateLimits {
                per_minute: Some(500),
                per_hour: Some(5_000),
                concurrent: Some(50),
            },
            KeyKind::Test => RateLimits {
                per_minute: Some(100),
                per_hour: Some(1_000),
                concurrent: Some(5),
            },
        }
    }
}

/// Declarative mapping of article fields to product fields.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductsConfig {
    /// Where the weight comes from, e.g. `{ extra_field = "Gewicht" }`. Values may use a
    /// Dutch decimal comma (`0,250`). None: products carry no weight.
    #[serde(default)]
    pub weight: Option<WeightSource>,
    /// Where the category comes from: `{ extra_field = "Categorie" }` (a path split on
    /// `separator`) or `{ omzetgroep = true }` (the article group's description).
    #[serde(default)]
    pub category: Option<CategorySource>,
    /// Further attributes: shop attribute code -> name of the article's extra field, e.g.
    /// `{ color = "Kleur" }`. Empty or missing extra fields are left out.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Artikelcodes that are not shop products: the products and stock flows leave them out,
    /// e.g. `["CADEAUBON"]`. The articles set as `orders.shipping_article`,
    /// `payment_fee_article`, `discount_article` and `fee_article` are always left out: they
    /// exist to book costs on, not to be sold.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// The weight's extra field and its unit.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightSource {
    /// Name of the article's extra field (`extraVelden[].naam`) holding the weight.
    pub extra_field: String,
    /// Unit of the values in that field; products carry kilograms.
    #[serde(default)]
    pub unit: WeightUnit,
}

/// Unit of a weight extra field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum WeightUnit {
    /// Kilograms.
    #[default]
    Kg,
    /// Grams (divided by 1000).
    G,
}

/// Where the category path comes from: exactly one of `extra_field` and `omzetgroep`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategorySource {
    /// Name of the article's extra field holding the category path.
    #[serde(default)]
    pub extra_field: Option<String>,
    /// Use the article group's (`artikelOmzetgroep`) description as the category.
    #[serde(default)]
    pub omzetgroep: bool,
    /// Separator between the levels of a category path in the extra field (default `/`).
    #[serde(default = "default_separator")]
    pub separator: String,
}

fn default_separator() -> String {
    "/".to_owned()
}

/// Which stock figure is read.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StockConfig {
    /// `technical` (technischeVoorraad, on hand) or `free` (vrijeVoorraad, on hand minus
    /// reserved by orders).
    #[serde(default)]
    pub kind: StockKind,
    /// Read only articles changed since the cursor (`ModifiedOn`). Set to false if stock
    /// mutations in your administration do not change an article's `ModifiedOn`: every read
    /// then lists all articles and unchanged levels are skipped by the bindings.
    #[serde(default = "default_true")]
    pub incremental: bool,
    /// Leave out articles without stock tracking (`voorraadControle = false`).
    #[serde(default = "default_true")]
    pub skip_untracked: bool,
}

impl Default for StockConfig {
    fn default() -> Self {
        StockConfig {
            kind: StockKind::default(),
            incremental: true,
            skip_untracked: true,
        }
    }
}

fn default_true() -> bool {
    true
}

/// The stock figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum StockKind {
    /// `technischeVoorraad`: physically on hand.
    #[default]
    Technical,
    /// `vrijeVoorraad`: on hand minus what open orders reserve.
    Free,
}

/// How customers are matched and created.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomersConfig {
    /// After the binding, how an existing relatie is found before one is created, in order.
    #[serde(default = "default_match_order")]
    pub match_order: Vec<MatchKey>,
    /// Guest orders: `per_email` (one relatie per e-mail address, matched like any customer)
    /// or `collective` (all guests go to one verzameldebiteur, `collective_relatie_code`).
    #[serde(default)]
    pub guests: GuestPolicy,
    /// Relatiecode of the verzameldebiteur used for guests when `guests = "collective"`.
    #[serde(default)]
    pub collective_relatie_code: Option<i64>,
}

impl Default for CustomersConfig {
    fn default() -> Self {
        CustomersConfig {
            match_order: default_match_order(),
            guests: GuestPolicy::default(),
            collective_relatie_code: None,
        }
    }
}

fn default_match_order() -> Vec<MatchKey> {
    vec![MatchKey::Email, MatchKey::VatNumber, MatchKey::KvkNumber]
}

/// A natural key a relatie is matched by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchKey {
    /// `Email eq '…'`
    Email,
    /// `BtwNummer eq '…'`
    VatNumber,
    /// `KvkNummer eq '…'`
    KvkNumber,
}

/// What happens with guest customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum GuestPolicy {
    /// One relatie per e-mail address.
    #[default]
    PerEmail,
    /// One verzameldebiteur for all guests.
    Collective,
}

/// How orders are written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    /// `procesStatus` of created orders: `Order` (default), `Offerte`, `Bevestiging`,
    /// `Werkbon`, `Pakbon` or `Afhaalbon`. `Factuur` and `Contantbon` cannot be set through
    /// the API.
    #[serde(default)]
    pub process_status: ProcesStatus,
    /// Artikelcode of the article shipping costs are booked on. When none is set, see
    /// `priced_text_lines`.
    #[serde(default)]
    pub shipping_article: Option<String>,
    /// Artikelcode of the article payment fees are booked on. When none is set, see
    /// `priced_text_lines`.
    #[serde(default)]
    pub payment_fee_article: Option<String>,
    /// Artikelcode of the article order discounts are booked on (a negative line). When none
    /// is set, see `priced_text_lines`.
    #[serde(default)]
    pub discount_article: Option<String>,
    /// Artikelcode of the article other charges are booked on, one line each: fixed-amount
    /// taxes such as an OpenCart eco tax, which the shop charges without VAT, so give this
    /// article an omzetgroep without VAT ("Geen"). When none is set, see `priced_text_lines`.
    #[serde(default)]
    pub fee_article: Option<String>,
    /// For shipping, payment fees, other charges and discounts without a configured article: `true` sends a
    /// text line (no article) carrying the amount; `false` (default) quarantines such orders
    /// with a message naming the setting, because SnelStart documents no priced lines without
    /// an article (and the simulator refuses them, VOR-0013). Lines of amount 0 are left out.
    #[serde(default)]
    pub priced_text_lines: bool,
    /// What to do when SnelStart's rate for a line's (or charge's) article does not explain the
    /// VAT the shop charged: `quarantine` the order (default) or `warn` and write it anyway.
    /// VAT is judged on amounts under the shop's rounding rule (the shop's tax equals what the
    /// rate gives on the row, rounded as the shop rounds), never on a percentage rebuilt from
    /// rounded cents; a shop that gives no VAT amount is judged on its stated percentage.
    #[serde(default)]
    pub vat_mismatch: VatMismatch,
    /// The order's `omschrijving`; `{number}` is replaced by the shop order number.
    #[serde(default = "default_description")]
    pub description: String,
    /// No longer has an effect (kept so older configs still load): every order without a
    /// binding is looked up by `orderreferentie` before it is created, in `plan` and `run`
    /// alike, as part of the sink's read-only prepare step.
    #[serde(default)]
    pub lookup_before_create: bool,
    /// What to do with a shop order that was exported to SnelStart before and changed in the
    /// shop since (cancelled, refunded, lines or address edited). Either way koppel reads the
    /// verkooporder as SnelStart holds it now, compares it with the changed shop order and never
    /// creates a second one. `report` (default): report it as "changed after export" with the
    /// fields that differ (SnelStart's value -> the shop's), in the run summary, `koppel status`
    /// and the status page; it is parked like a quarantined record and checked again on retry,
    /// so once the order is corrected in SnelStart by hand it is released. `update`: replace
    /// the verkooporder (`PUT /verkooporders/{id}`) while it has no invoice; an invoiced order
    /// is reported as with `report`.
    #[serde(default)]
    pub changed_after_export: ChangedAfterExport,
    /// When the API refuses `$filter=Orderreferentie eq '…'`, the lookup pages through orders
    /// changed since this many days before the shop order's date and compares.
    #[serde(default = "default_fallback_days")]
    pub lookup_fallback_days: u32,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            process_status: ProcesStatus::default(),
            shipping_article: None,
            payment_fee_article: None,
            discount_article: None,
            fee_article: None,
            priced_text_lines: false,
            vat_mismatch: VatMismatch::default(),
            description: default_description(),
            lookup_before_create: false,
            changed_after_export: ChangedAfterExport::default(),
            lookup_fallback_days: default_fallback_days(),
        }
    }
}

fn default_description() -> String {
    "Webshop order {number}".to_owned()
}
fn default_fallback_days() -> u32 {
    2
}

/// SnelStart's `procesStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[allow(missing_docs)]
pub enum ProcesStatus {
    #[default]
    Order,
    Offerte,
    Bevestiging,
    Werkbon,
    Pakbon,
    Afhaalbon,
    /// Refused at validation: not available through the API.
    Contantbon,
    /// Refused at validation: not available through the API.
    Factuur,
}

impl ProcesStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcesStatus::Order => "Order",
            ProcesStatus::Offerte => "Offerte",
            ProcesStatus::Bevestiging => "Bevestiging",
            ProcesStatus::Werkbon => "Werkbon",
            ProcesStatus::Pakbon => "Pakbon",
            ProcesStatus::Afhaalbon => "Afhaalbon",
            ProcesStatus::Contantbon => "Contantbon",
            ProcesStatus::Factuur => "Factuur",
        }
    }
}

/// What happens to a shop order that changed after it was exported
/// ([`OrdersConfig::changed_after_export`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChangedAfterExport {
    /// Report the fields that differ; the owner corrects SnelStart by hand.
    #[default]
    Report,
    /// Update the verkooporder in SnelStart while it has no invoice.
    Update,
}

/// What a VAT mismatch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum VatMismatch {
    /// Reject the order (it is quarantined with both rates).
    #[default]
    Quarantine,
    /// Log a warning and write the order with SnelStart's rates.
    Warn,
}

impl Config {
    /// Checks values serde cannot: URLs, page sizes, the process status, the category source.
    pub fn validate(&self) -> Result<()> {
        for (path, value) in [("api_base_url", &self.api_base_url), ("auth_url", &self.auth_url)] {
            let url = url::Url::parse(value)
                .map_err(|e| Error::config(path, format!("{value:?} is not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::config(path, format!("{value:?} must be an http(s) URL")));
            }
        }
        if self.client_key.expose().trim().is_empty() {
            return Err(Error::config(
                "client_key",
                "must not be empty (the koppelsleutel)",
            ));
        }
        if self.subscription_key.expose().trim().is_empty() {
            return Err(Error::config("subscription_key", "must not be empty"));
        }
        if !(1..=500).contains(&self.page_size) {
            return Err(Error::config(
                "page_size",
                "must be between 1 and 500 (SnelStart's maximum)",
            ));
        }
        if !(1..=25).contains(&self.article_page_size) {
            return Err(Error::config(
                "article_page_size",
                "must be between 1 and 25 (SnelStart refuses $top > 25 on articles)",
            ));
        }
        if let Some(c) = &self.products.category {
            match (&c.extra_field, c.omzetgroep) {
                (Some(_), true) => {
                    return Err(Error::config(
                        "products.category",
                        "set either extra_field or omzetgroep = true, not both",
                    ))
                }
                (None, false) => {
                    return Err(Error::config(
                        "products.category",
                        "set extra_field = \"<name>\" or omzetgroep = true",
                    ))
                }
                (Some(f), false) if f.trim().is_empty() => {
                    return Err(Error::config(
                        "products.category.extra_field",
                        "must not be empty",
                    ))
                }
                _ => {}
            }
            if c.separator.is_empty() {
                return Err(Error::config("products.category.separator", "must not be empty"));
            }
        }
        if let Some(w) = &self.products.weight {
            if w.extra_field.trim().is_empty() {
                return Err(Error::config("products.weight.extra_field", "must not be empty"));
            }
        }
        if matches!(
            self.orders.process_status,
            ProcesStatus::Factuur | ProcesStatus::Contantbon
        ) {
            return Err(Error::config(
                "orders.process_status",
                format!(
                    "{} cannot be set through the SnelStart API; use Order (invoice the order in SnelStart)",
                    self.orders.process_status.as_str()
                ),
            ));
        }
        if self.customers.guests == GuestPolicy::Collective
            && self.customers.collective_relatie_code.is_none()
        {
            return Err(Error::config(
                "customers.collective_relatie_code",
                "required when guests = \"collective\": the relatiecode of the verzameldebiteur",
            ));
        }
        for (path, v) in [
            ("orders.shipping_article", &self.orders.shipping_article),
            ("orders.payment_fee_article", &self.orders.payment_fee_article),
            ("orders.discount_article", &self.orders.discount_article),
            ("orders.fee_article", &self.orders.fee_article),
        ] {
            if let Some(code) = v {
                if code.trim().is_empty() {
                    return Err(Error::config(path, "must not be empty (an artikelcode)"));
                }
            }
        }
        Ok(())
    }

    /// The rate limits in force: `rate_limits` if set, else the `key_kind` defaults.
    pub fn effective_limits(&self) -> RateLimits {
        self.rate_limits.unwrap_or_else(|| self.key_kind.limits())
    }
}

/// A commented example (the body of a `[pairs.<name>.accounting]` table).
pub const EXAMPLE: &str = r#"type = "snelstart"
# The koppelsleutel of the administration (SnelStart Web > koppelingen) and your API
# subscription key (developer portal). Take them from the environment, never inline.
client_key = "${SNELSTART_CLIENT_KEY}"
subscription_key = "${SNELSTART_SUBSCRIPTION_KEY}"
# api_base_url = "https://b2bapi.snelstart.nl/v2"
# auth_url = "https://auth.snelstart.nl/b2b/token"
# "production" (500/min, 5,000/h, 50 concurrent) or "test" (100/min, 1,000/h, 5 concurrent)
key_kind = "production"
# rate_limits = { per_minute = 300, per_hour = 3000, concurrent = 10 }
# page_size = 500
# article_page_size = 25
# reference_ttl_secs = 600

[products]
weight = { extra_field = "Gewicht" }          # "0,250" -> 0.25 kg; add unit = "g" for grams
category = { extra_field = "Categorie" }      # "Koffie/Bonen"; or { omzetgroep = true }
attributes = { color = "Kleur" }              # shop attribute code = extra field name

[stock]
kind = "technical"                            # or "free" (vrijeVoorraad)

[customers]
match_order = ["email", "vat_number", "kvk_number"]
guests = "per_email"                          # or "collective" with collective_relatie_code
# collective_relatie_code = 9999

[orders]
process_status = "Order"
shipping_article = "VERZEND"
# payment_fee_article = "BETAALKOSTEN"
# discount_article = "KORTING"
# fee_article = "HEFFING"                    # other charges (eco tax), an article without VAT
# priced_text_lines = false                  # true: costs without an article as text lines
vat_mismatch = "quarantine"                   # or "warn"
description = "Webshop order {number}"
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example_json() -> serde_json::Value {
        let table: toml::Table = toml::from_str(EXAMPLE).unwrap();
        let mut v = serde_json::to_value(table).unwrap();
        v.as_object_mut().unwrap().remove("type");
        v
    }

    #[test]
    fn example_config_parses() {
        let c = crate::parse(example_json()).unwrap();
        assert_eq!(c.api_base_url, DEFAULT_API_BASE_URL);
        assert_eq!(c.auth_url, DEFAULT_AUTH_URL);
        assert_eq!(c.article_page_size, 25);
        assert_eq!(c.page_size, 500);
        assert_eq!(c.effective_limits(), KeyKind::Production.limits());
        assert_eq!(c.products.weight.as_ref().unwrap().extra_field, "Gewicht");
        assert_eq!(
            c.products.attributes.get("color").map(String::as_str),
            Some("Kleur")
        );
        assert_eq!(c.orders.shipping_article.as_deref(), Some("VERZEND"));
        assert_eq!(c.customers.match_order, default_match_order());
    }

    fn minimal() -> serde_json::Value {
        json!({ "client_key": "ck-123456", "subscription_key": "sk-123456" })
    }

    fn with(patch: serde_json::Value) -> Result<Config> {
        let mut v = minimal();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        crate::parse(v)
    }

    fn path_of(r: Result<Config>) -> String {
        match r {
            Err(Error::Config { path, .. }) => path,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_limits() {
        let c = crate::parse(minimal()).unwrap();
        assert_eq!(c.stock.kind, StockKind::Technical);
        assert!(c.stock.incremental);
        assert_eq!(c.orders.process_status, ProcesStatus::Order);
        let c = with(json!({ "key_kind": "test" })).unwrap();
        assert_eq!(
            c.effective_limits(),
            RateLimits {
                per_minute: Some(100),
                per_hour: Some(1000),
                concurrent: Some(5)
            }
        );
        let c = with(json!({ "key_kind": "test", "rate_limits": { "per_minute": 10 } })).unwrap();
        assert_eq!(c.effective_limits().per_minute, Some(10));
        assert_eq!(c.effective_limits().concurrent, None);
    }

    #[test]
    fn invalid_configs_name_the_key() {
        assert_eq!(
            path_of(with(json!({ "article_page_size": 26 }))),
            "article_page_size"
        );
        assert_eq!(path_of(with(json!({ "page_size": 0 }))), "page_size");
        assert_eq!(
            path_of(with(json!({ "api_base_url": "not a url" }))),
            "api_base_url"
        );
        assert_eq!(
            path_of(with(json!({ "orders": { "process_status": "Factuur" } }))),
            "orders.process_status"
        );
        assert_eq!(
            path_of(with(json!({ "orders": { "process_status": "Contantbon" } }))),
            "orders.process_status"
        );
        assert_eq!(
            path_of(with(json!({ "customers": { "guests": "collective" } }))),
            "customers.collective_relatie_code"
        );
        assert_eq!(
            path_of(with(
                json!({ "products": { "category": { "extra_field": "C", "omzetgroep": true } } })
            )),
            "products.category"
        );
        assert_eq!(
            path_of(with(json!({ "stock": { "kind": "virtual" } }))),
            "stock.kind"
        );
        assert_eq!(path_of(with(json!({ "unknown": 1 }))), "unknown");
        assert_eq!(path_of(crate::parse(json!({ "subscription_key": "x" }))), "");
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let c = crate::parse(minimal()).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("ck-123456") && !dbg.contains("sk-123456"), "{dbg}");
    }
}
