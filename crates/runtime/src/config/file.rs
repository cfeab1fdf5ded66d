//! The file's shape: the runner's own tables (state file, time zone, pairs, flows) as serde
//! types, with the doc comments the JSON Schema and docs/configuration.md are generated from,
//! and the two connector tables whose schema is `oneOf` the registered connectors.

use koppel_core::registry::{self, Role};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use koppel_core::engine::Flow;

fn default_state() -> String {
    "koppel.db".into()
}

fn default_timezone() -> String {
    "Europe/Amsterdam".into()
}

/// The koppel config file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "koppel configuration")]
pub struct ConfigFile {
    /// The SQLite state file (bindings, cursors, write journal, quarantine, run history),
    /// relative to the config file. Keep it: it is what makes writes happen exactly once.
    #[serde(default = "default_state")]
    pub state: String,
    /// The IANA time zone in which cron schedules are read and times are shown
    /// (e.g. `Europe/Amsterdam`, `Europe/Brussels`, `UTC`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// The pairs: each is one SnelStart administration and one shop, with the flows between them.
    pub pairs: Vec<PairConfig>,
}

/// One SnelStart administration and one shop, and the flows between them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    /// The pair's name: unique, used in the state file, logs and `--pair`. Renaming it starts
    /// the pair's state afresh.
    pub name: String,
    /// The accounting side. `type` picks the connector (`snelstart`); the other keys are that
    /// connector's settings.
    pub accounting: AccountingTable,
    /// The shop side. `type` picks the connector (e.g. `magento`); the other keys are that
    /// connector's settings.
    pub shop: ShopTable,
    /// The flows to run, each with its schedule and engine options. A flow that is not listed
    /// does not run.
    #[serde(default)]
    pub flows: FlowsConfig,
}

/// The flows of a pair; each table enables one.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowsConfig {
    /// SnelStart articles -> shop products (create and update by SKU).
    pub products: Option<FlowConfig>,
    /// SnelStart stock -> shop stock levels (only changed levels are written).
    pub stock: Option<FlowConfig>,
    /// Shop customers -> SnelStart relaties (matched before anything is created).
    pub customers: Option<FlowConfig>,
    /// Shop orders -> SnelStart verkooporders (exactly once; shop order number in `orderreferentie`).
    pub orders: Option<FlowConfig>,
    /// SnelStart outstanding invoice amounts -> the shop.
    pub open_amounts: Option<FlowConfig>,
    /// SnelStart payments -> the shop (settled orders are reported back).
    pub payments: Option<FlowConfig>,
}

impl FlowsConfig {
    /// The enabled flows, in the order they run.
    pub fn enabled(&self) -> Vec<(Flow, &FlowConfig)> {
        [
            (Flow::Products, &self.products),
            (Flow::Stock, &self.stock),
            (Flow::Customers, &self.customers),
            (Flow::Orders, &self.orders),
            (Flow::OpenAmounts, &self.open_amounts),
            (Flow::Payments, &self.payments),
        ]
        .into_iter()
        .filter_map(|(f, c)| c.as_ref().map(|c| (f, c)))
        .collect()
    }
}

/// One flow: when it runs and how the engine runs it. Every option has a sensible default.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowConfig {
    /// When `koppel daemon` runs this flow: an interval counted from the end of the previous
    /// run (`"15m"`, `"1h 30m"`), or a five-field cron expression in the configured time zone
    /// (`"0 7,19 * * *"`, `"*/15 * * * *"`). Without a schedule the flow runs only with
    /// `koppel run`.
    pub schedule: Option<String>,
    /// How far before the stored cursor each incremental read starts again (clock skew, late
    /// commits at the source); duplicates cost nothing. Default `"5m"`.
    pub overlap: Option<String>,
    /// How many calls to the target run at once (1 to 64), across batches: a batch's lookup,
    /// or a write (of one record or of a batch, as the target's API writes). Default 4.
    /// Capped by what the connector allows; its rate limits still apply.
    pub concurrency: Option<usize>,
    /// Orders flow only: create a buyer that is not in SnelStart yet (after matching by
    /// binding, e-mail and VAT/KvK number). When false such an order is quarantined.
    /// Default true.
    pub create_customers: Option<bool>,
    /// Wait before a quarantined record is tried again; doubles per attempt. Default `"5m"`.
    pub quarantine_backoff: Option<String>,
    /// Longest wait between tries of a quarantined record. Default `"24h"`.
    pub quarantine_backoff_max: Option<String>,
    /// Try quarantined records that are due at the start of every run. Default true.
    pub retry_quarantined: Option<bool>,
    /// Ignore the stored cursor and read everything on every run (unchanged records still
    /// cost no write). Default false; `koppel run --full` does it once.
    pub full: Option<bool>,
}

macro_rules! connector_table {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Map<String, Value>);

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                connector_one_of(generator, $role, $doc)
            }
        }
    };
}

connector_table!(
    AccountingTable,
    Role::Accounting,
    "An accounting connector's settings; `type` names the connector."
);
connector_table!(
    ShopTable,
    Role::Shop,
    "A shop connector's settings; `type` names the connector."
);

/// The schema of one side's connector table: `oneOf` the connectors registered for `role`,
/// each with a `type` constant. The connectors' own definitions are hoisted into the
/// generator, prefixed with the connector name.
pub fn connector_one_of(generator: &mut SchemaGenerator, role: Role, description: &str) -> Schema {
    let mut variants = Vec::new();
    for d in registry::connectors().into_iter().filter(|d| d.role == role) {
        let mut schema = (d.config_schema)().to_value();
        let Some(obj) = schema.as_object_mut() else {
            continue;
        };
        obj.remove("$schema");
        let prefix = format!("{}_", d.name);
        let defs = obj.remove("$defs").or_else(|| obj.remove("definitions"));
        if let Some(Value::Object(defs)) = defs {
            for (name, mut def) in defs {
                rewrite_refs(&mut def, &prefix);
                generator.definitions_mut().insert(format!("{prefix}{name}"), def);
            }
        }
        rewrite_refs(&mut schema, &prefix);
        let Some(obj) = schema.as_object_mut() else {
            continue;
        };
        obj.insert("title".into(), json!(d.name));
        let mut props = Map::new();
        props.insert(
            "type".into(),
            json!({"const": d.name, "description": format!("Selects the {} connector: {}", d.name, d.description)}),
        );
        if let Some(Value::Object(existing)) = obj.remove("properties") {
            props.extend(existing);
        }
        obj.insert("properties".into(), Value::Object(props));
        let mut required = vec![json!("type")];
        if let Some(Value::Array(r)) = obj.remove("required") {
            required.extend(r);
        }
        obj.insert("required".into(), Value::Array(required));
        obj.entry("type").or_insert(json!("object"));
        variants.push(schema);
    }
    Schema::try_from(json!({
        "description": description,
        "type": "object",
        "required": ["type"],
        "oneOf": variants,
    }))
    .unwrap_or_default()
}

fn rewrite_refs(v: &mut Value, prefix: &str) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if k == "$ref" {
                    if let Value::String(r) = val {
                        for base in ["#/$defs/", "#/definitions/"] {
                            if let Some(name) = r.strip_prefix(base) {
                                *r = format!("#/$defs/{prefix}{name}");
                                break;
                            }
                        }
                    }
                } else {
                    rewrite_refs(val, prefix);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_refs(i, prefix)),
        _ => {}
    }
}
