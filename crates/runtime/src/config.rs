//! The config file: one TOML file with the state file, the time zone and the pairs. Loading it
//! resolves secrets (`${VAR}`, `<key>_file`), checks every key of the runner's own tables,
//! hands each connector table to its connector's `validate`, checks that every enabled flow is
//! possible for the pair's connectors and parses the schedules. No I/O besides reading the file
//! (and secret files). Every error names the file, the line and the key path.

use chrono_tz::Tz;
use koppel_core::engine::Pair;
use koppel_core::registry::{self, ConnectorContext, ConnectorDescriptor, Role};
use koppel_core::secret::Redactor;
use koppel_core::{Error, Secret};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::flows::{Flow, FlowOptions};
use crate::schedule::Schedule;
use crate::secrets;

/// The default config file name.
pub const DEFAULT_CONFIG: &str = "koppel.toml";

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
    /// How many write batches run at once (1 to 64). Default 4. The connectors' rate limits
    /// still apply.
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
                crate::schema::connector_one_of(generator, $role, $doc)
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

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One config error: file, line, key path and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file as given.
    pub file: String,
    /// 1-based line, when the key (or its table) is in the file.
    pub line: Option<usize>,
    /// The key path, e.g. `pairs[0].shop.base_url`; empty for the file as a whole.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every error found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---------------------------------------------------------------------------------------------
// The loaded config
// ---------------------------------------------------------------------------------------------

/// A connector table after validation: its descriptor and its config without `type`.
#[derive(Clone)]
pub struct ConnectorSpec {
    /// The registered connector.
    pub descriptor: &'static ConnectorDescriptor,
    /// Its config (secrets resolved, `type` removed).
    pub config: Value,
}

impl fmt::Debug for ConnectorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the config: it holds secrets.
        f.debug_struct("ConnectorSpec")
            .field("type", &self.descriptor.name)
            .finish()
    }
}

/// One enabled flow of a pair.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    /// Which flow.
    pub flow: Flow,
    /// Its schedule in the daemon, if any.
    pub schedule: Option<Schedule>,
    /// Its engine options.
    pub options: FlowOptions,
}

/// A validated pair.
#[derive(Debug, Clone)]
pub struct PairSpec {
    /// The pair's name.
    pub name: String,
    /// Position in `pairs` (for key paths).
    pub index: usize,
    /// The accounting connector.
    pub accounting: ConnectorSpec,
    /// The shop connector.
    pub shop: ConnectorSpec,
    /// The enabled flows, in run order.
    pub flows: Vec<FlowSpec>,
}

impl PairSpec {
    /// A connector's config error with its key path from the top of the file
    /// (`orders.shipping_article` -> `pairs[0].accounting.orders.shipping_article`); other
    /// errors unchanged.
    pub fn side_error(&self, side: &str, e: Error) -> Error {
        match e {
            Error::Config { path, message } => {
                let base = format!("pairs[{}].{side}", self.index);
                let path = if path.is_empty() {
                    base
                } else {
                    format!("{base}.{path}")
                };
                Error::config(path, message)
            }
            other => other,
        }
    }

    /// Builds both connectors (no I/O) into an engine pair.
    pub fn build(&self) -> Result<Pair, Error> {
        let ctx = ConnectorContext {
            pair: self.name.clone(),
        };
        let accounting = (self.accounting.descriptor.factory)(self.accounting.config.clone(), &ctx)
            .map_err(|e| self.side_error("accounting", e))?;
        let shop = (self.shop.descriptor.factory)(self.shop.config.clone(), &ctx)
            .map_err(|e| self.side_error("shop", e))?;
        Ok(Pair {
            name: self.name.clone(),
            accounting,
            shop,
        })
    }

    /// The enabled flow, if it is.
    pub fn flow(&self, flow: Flow) -> Option<&FlowSpec> {
        self.flows.iter().find(|f| f.flow == flow)
    }
}

/// A loaded, validated config.
pub struct Config {
    /// The config file.
    pub path: PathBuf,
    /// The state file (absolute, or relative to the working directory).
    pub state_path: PathBuf,
    /// The time zone of schedules.
    pub timezone: Tz,
    /// The pairs.
    pub pairs: Vec<PairSpec>,
    /// Redacts every secret the config holds.
    pub redactor: Redactor,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("state_path", &self.state_path)
            .field("timezone", &self.timezone)
            .field("pairs", &self.pairs)
            .finish()
    }
}

impl Config {
    /// Loads and validates a config file, reading variables from the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "; create one with `koppel init`, or pass --config FILE (or set KOPPEL_CONFIG)"
            } else {
                ""
            };
            ConfigErrors(vec![ConfigError {
                file: file.clone(),
                line: None,
                path: String::new(),
                message: format!("cannot read the config file: {e}{hint}"),
            }])
        })?;
        let env = |name: &str| std::env::var(name).ok();
        Config::parse(&text, path, &env)
    }

    /// Validates config text that belongs to the file at `path` (used for errors and
    /// relative paths), reading variables through `env`.
    pub fn parse(text: &str, path: &Path, env: secrets::Env<'_>) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let locator = Locator::new(text);
        let err = |path: String, message: String| ConfigError {
            file: file.clone(),
            line: locator.line_of(&path),
            path,
            message,
        };

        // 1. Syntax.
        let mut value: Value = match toml::from_str::<toml::Table>(text) {
            Ok(t) => match serde_json::to_value(t) {
                Ok(v) => v,
                Err(e) => return Err(ConfigErrors(vec![err(String::new(), e.to_string())])),
            },
            Err(e) => {
                let line = e.span().map(|s| locator.line_at(s.start));
                let message = e.message().trim().to_owned();
                return Err(ConfigErrors(vec![ConfigError {
                    file,
                    line,
                    path: String::new(),
                    message: format!("TOML syntax error: {message}"),
                }]));
            }
        };

        // 2. Secrets.
        let secret_values = secrets::resolve(&mut value, &base_dir, env)
            .map_err(|errs| ConfigErrors(errs.into_iter().map(|e| err(e.path, e.message)).collect()))?;
        let mut redactor = Redactor::new(std::iter::empty::<&Secret>());
        for s in &secret_values {
            redactor.add(s);
        }
        let redact = |e: ConfigError| ConfigError {
            message: redactor.redact(&e.message),
            ..e
        };

        // 3. The runner's own tables.
        let parsed: ConfigFile = serde_path_to_error::deserialize(&value).map_err(|e| {
            let (path, message) = serde_error(e.path().to_string(), e.inner().to_string());
            ConfigErrors(vec![redact(err(path, message))])
        })?;

        // 4. Semantics.
        let mut errors = Vec::new();
        let timezone: Tz = match parsed.timezone.parse() {
            Ok(tz) => tz,
            Err(_) => {
                errors.push(err(
                    "timezone".into(),
                    format!(
                        "{:?} is not an IANA time zone; write e.g. \"Europe/Amsterdam\" or \"UTC\"",
                        parsed.timezone
                    ),
                ));
                chrono_tz::Europe::Amsterdam
            }
        };
        if parsed.pairs.is_empty() {
            errors.push(err(
                "pairs".into(),
                "no pairs; add a [[pairs]] table (see `koppel init`)".into(),
            ));
        }
        let mut names = BTreeMap::new();
        let mut pairs = Vec::new();
        for (i, pair) in parsed.pairs.into_iter().enumerate() {
            let at = |key: &str| format!("pairs[{i}].{key}");
            if pair.name.trim().is_empty()
                || !pair
                    .name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                errors.push(err(
                    at("name"),
                    format!(
                        "{:?} is not a usable pair name; use letters, digits, `-`, `_` or `.`",
                        pair.name
                    ),
                ));
            }
            if let Some(first) = names.insert(pair.name.clone(), i) {
                errors.push(err(
                    at("name"),
                    format!("pair name {:?} is already used by pairs[{first}]", pair.name),
                ));
            }
            let accounting = connector_spec(i, "accounting", Role::Accounting, pair.accounting.0, &err);
            let shop = connector_spec(i, "shop", Role::Shop, pair.shop.0, &err);
            let mut flows = Vec::new();
            for (flow, fc) in pair.flows.enabled() {
                let flow_path = at(&format!("flows.{}", flow.as_str()));
                let schedule = match &fc.schedule {
                    None => None,
                    Some(s) => match s.parse::<Schedule>() {
                        Ok(s) => Some(s),
                        Err(m) => {
                            errors.push(err(format!("{flow_path}.schedule"), m));
                            None
                        }
                    },
                };
                let options = match crate::flows::engine_options(flow, fc) {
                    Ok(o) => o,
                    Err((key, m)) => {
                        errors.push(err(format!("{flow_path}.{key}"), m));
                        FlowOptions::default()
                    }
                };
                if let (Ok(a), Ok(s)) = (&accounting, &shop) {
                    if let Err(m) = crate::flows::possible(flow, a.descriptor, s.descriptor, &options) {
                        errors.push(err(flow_path.clone(), m));
                    }
                }
                flows.push(FlowSpec {
                    flow,
                    schedule,
                    options,
                });
            }
            match (accounting, shop) {
                (Ok(accounting), Ok(shop)) => pairs.push(PairSpec {
                    name: pair.name,
                    index: i,
                    accounting,
                    shop,
                    flows,
                }),
                (a, s) => {
                    errors.extend(a.err().into_iter().flatten());
                    errors.extend(s.err().into_iter().flatten());
                }
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors.into_iter().map(redact).collect()));
        }
        Ok(Config {
            path: path.to_path_buf(),
            state_path: base_dir.join(&parsed.state),
            timezone,
            pairs,
            redactor,
        })
    }

    /// The pairs selected by `--pair` (all when `None`); an unknown name is a config error.
    pub fn select_pairs(&self, name: Option<&str>) -> Result<Vec<&PairSpec>, ConfigErrors> {
        match name {
            None => Ok(self.pairs.iter().collect()),
            Some(n) => match self.pairs.iter().find(|p| p.name == n) {
                Some(p) => Ok(vec![p]),
                None => Err(ConfigErrors(vec![ConfigError {
                    file: self.path.display().to_string(),
                    line: None,
                    path: "pairs".into(),
                    message: format!(
                        "no pair named {n:?} (--pair); the config has: {}",
                        self.pairs
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }])),
            },
        }
    }
}

/// Turns a serde error into a key path and a message that names the key for unknown fields.
fn serde_error(path: String, message: String) -> (String, String) {
    let path = if path == "." { String::new() } else { path };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((field, expected)) = rest.split_once('`') {
            let full = if path.is_empty() {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            };
            let expected = expected.trim_start_matches(", ");
            return (full, format!("unknown key; {expected}"));
        }
    }
    (path, message)
}

/// Validates one connector table.
fn connector_spec(
    pair: usize,
    side: &str,
    role: Role,
    mut table: Map<String, Value>,
    err: &dyn Fn(String, String) -> ConfigError,
) -> Result<ConnectorSpec, Vec<ConfigError>> {
    let base = format!("pairs[{pair}].{side}");
    let names = |role: Role| {
        registry::connectors()
            .into_iter()
            .filter(|d| d.role == role)
            .map(|d| d.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ty = match table.remove("type") {
        Some(Value::String(t)) => t,
        Some(_) => return Err(vec![err(format!("{base}.type"), "must be a string".into())]),
        None => {
            return Err(vec![err(
                format!("{base}.type"),
                format!("missing; set `type` to one of: {}", names(role)),
            )])
        }
    };
    let Some(descriptor) = registry::find(&ty) else {
        return Err(vec![err(
            format!("{base}.type"),
            format!(
                "unknown connector type {ty:?}; this koppel knows: {} (see `koppel connectors`)",
                names(role)
            ),
        )]);
    };
    if descriptor.role != role {
        return Err(vec![err(
            format!("{base}.type"),
            format!(
                "{ty:?} is a {} connector and cannot be the {side} side; use one of: {}",
                match descriptor.role {
                    Role::Accounting => "accounting",
                    Role::Shop => "shop",
                },
                names(role)
            ),
        )]);
    }
    let config = Value::Object(table);
    if let Err(e) = (descriptor.validate)(&config) {
        let (path, message) = match e {
            Error::Config { path, message } => {
                let (path, message) = serde_error(path, message);
                (
                    if path.is_empty() {
                        base
                    } else {
                        format!("{base}.{path}")
                    },
                    message,
                )
            }
            other => (base, other.to_string()),
        };
        return Err(vec![err(path, message)]);
    }
    Ok(ConnectorSpec { descriptor, config })
}

// ---------------------------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------------------------

/// Finds the line of a key path in the config text.
struct Locator<'a> {
    text: &'a str,
    doc: Option<toml_edit::Document<String>>,
}

#[derive(Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(b) = rest.find('[') {
            if b > 0 {
                out.push(Seg::Key(rest[..b].to_owned()));
            }
            rest = &rest[b..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                if let Ok(i) = stripped[..end].parse() {
                    out.push(Seg::Index(i));
                }
                rest = &stripped[end + 1..];
            }
        } else {
            out.push(Seg::Key(rest.to_owned()));
        }
    }
    out
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Locator {
            text,
            doc: toml_edit::Document::parse(text.to_owned()).ok(),
        }
    }

    fn line_at(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// The line of the deepest part of `path` that is in the file.
    fn line_of(&self, path: &str) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Table(doc.as_table());
        let mut best: Option<usize> = None;
        for seg in segments(path) {
            let Some((span, next)) = node.child(&seg) else {
                break;
            };
            if let Some(s) = span {
                best = Some(self.line_at(s.start));
            }
            node = next;
        }
        best
    }
}

/// A place in a toml_edit document.
#[derive(Clone, Copy)]
enum Node<'d> {
    Table(&'d toml_edit::Table),
    Item(&'d toml_edit::Item),
    Value(&'d toml_edit::Value),
}

type Span = Option<std::ops::Range<usize>>;

impl<'d> Node<'d> {
    fn child(self, seg: &Seg) -> Option<(Span, Node<'d>)> {
        use toml_edit::{Item, Value as V};
        let keyed = |get: &dyn Fn(&str) -> Option<(&'d toml_edit::Key, &'d Item)>, k: &str| {
            get(k)
                .or_else(|| get(&format!("{k}_file")))
                .map(|(key, it)| (key.span().or_else(|| it.span()), Node::Item(it)))
        };
        match (self, seg) {
            (Node::Table(t), Seg::Key(k)) => keyed(&|k| t.get_key_value(k), k),
            (Node::Item(Item::Table(t)), Seg::Key(k)) => keyed(&|k| t.get_key_value(k), k),
            (Node::Item(Item::Value(V::InlineTable(t))) | Node::Value(V::InlineTable(t)), Seg::Key(k)) => {
                keyed(&|k| t.get_key_value(k), k)
            }
            (Node::Item(Item::ArrayOfTables(a)), Seg::Index(i)) => {
                a.get(*i).map(|t| (t.span(), Node::Table(t)))
            }
            (Node::Item(Item::Value(V::Array(a))) | Node::Value(V::Array(a)), Seg::Index(i)) => {
                a.get(*i).map(|v| (v.span(), Node::Value(v)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_split_into_segments() {
        assert_eq!(
            segments("pairs[0].shop.base_url"),
            vec![
                Seg::Key("pairs".into()),
                Seg::Index(0),
                Seg::Key("shop".into()),
                Seg::Key("base_url".into())
            ]
        );
        assert_eq!(segments(""), vec![]);
    }

    #[test]
    fn lines_are_found_for_keys_tables_and_file_keys() {
        let text = "state = \"k.db\"\n\n[[pairs]]\nname = \"a\"\n\n[pairs.shop]\ntype = \"magento\"\nbase_url = \"nope\"\ntoken_file = \"t\"\n\n[[pairs]]\nname = \"b\"\n[pairs.flows.orders]\nschedule = \"x\"\n";
        let l = Locator::new(text);
        assert_eq!(l.line_of("state"), Some(1));
        assert_eq!(l.line_of("pairs[0].name"), Some(4));
        assert_eq!(l.line_of("pairs[0].shop.base_url"), Some(8));
        // A missing key falls back to its table.
        assert_eq!(l.line_of("pairs[0].shop.missing"), Some(6));
        // A secret from a file is found at its `_file` key.
        assert_eq!(l.line_of("pairs[0].shop.token"), Some(9));
        assert_eq!(l.line_of("pairs[1].flows.orders.schedule"), Some(14));
        assert_eq!(l.line_at(0), 1);
    }

    #[test]
    fn unknown_fields_name_the_key() {
        let (p, m) = serde_error(
            "pairs[0]".into(),
            "unknown field `nmae`, expected one of `name`, `shop`".into(),
        );
        assert_eq!(p, "pairs[0].nmae");
        assert!(m.starts_with("unknown key; expected one of"), "{m}");
        let (p, _) = serde_error(".".into(), "unknown field `x`, expected `state`".into());
        assert_eq!(p, "x");
    }

    #[test]
    fn error_display_names_file_line_and_path() {
        let e = ConfigError {
            file: "koppel.toml".into(),
            line: Some(12),
            path: "pairs[0].shop.base_url".into(),
            message: "not a URL".into(),
        };
        assert_eq!(e.to_string(), "koppel.toml:12: pairs[0].shop.base_url: not a URL");
    }
}

#[cfg(test)]
mod capability_tests {
    // The accounting side of the test configs is the real SnelStart connector.
    extern crate koppel_snelstart;

    use std::path::Path;
    use std::sync::Arc;

    use koppel_core::{Capabilities, Connector, ConnectorContext, ConnectorDescriptor, Error, Kind, Role};
    use serde_json::Value;

    use super::Config;

    fn schema() -> schemars::Schema {
        schemars::json_schema!({"type": "object"})
    }
    fn example() -> &'static str {
        ""
    }
    fn accept(_: &Value) -> koppel_core::Result<()> {
        Ok(())
    }
    fn refuse(_: Value, _: &ConnectorContext) -> koppel_core::Result<Arc<dyn Connector>> {
        Err(Error::internal("test connector"))
    }

    // A shop that takes products but cannot write stock (unit-test builds only).
    koppel_core::reexports::inventory::submit! {
        ConnectorDescriptor {
            name: "test_products_only_shop",
            role: Role::Shop,
            description: "test connector",
            capabilities: Capabilities { sources: &[Kind::Order], sinks: &[Kind::Product] },
            config_schema: schema,
            example_config: example,
            validate: accept,
            factory: refuse,
        }
    }

    #[test]
    fn impossible_flow_is_refused_before_any_io() {
        let text = r#"
[[pairs]]
name = "p"
[pairs.accounting]
type = "snelstart"
client_key = "client-key-1"
subscription_key = "sub-key-1"
[pairs.shop]
type = "test_products_only_shop"
[pairs.flows.products]
[pairs.flows.stock]
schedule = "5m"
"#;
        let env = |_: &str| None;
        let errs = Config::parse(text, Path::new("koppel.toml"), &env).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        let e = &errs.0[0];
        assert_eq!(e.path, "pairs[0].flows.stock");
        assert_eq!(e.line, Some(11));
        assert!(e.message.contains("cannot write stock"), "{}", e.message);
        assert!(
            e.to_string()
                .starts_with("koppel.toml:11: pairs[0].flows.stock: "),
            "{e}"
        );
    }
}
