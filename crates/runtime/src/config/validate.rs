//! Validation: config text to a [`Config`] (syntax, secrets, the runner's tables, then
//! every pair's connectors, flows, options and schedules), collecting every error.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono_tz::Tz;
use koppel_core::engine::{Flow, FlowOptions};
use koppel_core::registry::{self, Role};
use koppel_core::secret::Redactor;
use koppel_core::{Error, Secret};
use serde_json::{Map, Value};

use super::locate::Locator;
use super::{Config, ConfigError, ConfigErrors, ConfigFile, ConnectorSpec, FlowConfig, FlowSpec, PairSpec};
use crate::schedule::Schedule;
use crate::secrets;

impl Config {
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
                let options = match engine_options(flow, fc) {
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
    table: Map<String, Value>,
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
    let ty = match table.get("type") {
        Some(Value::String(t)) => t.clone(),
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
    let config = koppel_core::wire::without_type(Value::Object(table), descriptor.name);
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

/// Parses a humantime duration option, naming the key on error.
fn duration(key: &str, value: &Option<String>) -> Result<Option<Duration>, (String, String)> {
    match value {
        None => Ok(None),
        Some(v) => humantime::parse_duration(v.trim()).map(Some).map_err(|e| {
            (
                key.to_owned(),
                format!("{v:?} is not a duration ({e}); write e.g. \"5m\", \"90s\" or \"1h 30m\""),
            )
        }),
    }
}

/// The engine options a flow table asks for, on top of the engine's defaults. The error is
/// (key below the flow table, message).
pub fn engine_options(flow: Flow, c: &FlowConfig) -> Result<FlowOptions, (String, String)> {
    let mut o = FlowOptions::default();
    if let Some(d) = duration("overlap", &c.overlap)? {
        o.overlap = d;
    }
    if let Some(n) = c.concurrency {
        if n == 0 || n > 64 {
            return Err(("concurrency".into(), format!("{n} is out of range; use 1 to 64")));
        }
        o.concurrency = n;
    }
    if let Some(b) = c.create_customers {
        if flow != Flow::Orders {
            return Err((
                "create_customers".into(),
                "only applies to the orders flow; move it to [pairs.flows.orders]".into(),
            ));
        }
        o.create_customers = b;
    }
    if let Some(d) = duration("quarantine_backoff", &c.quarantine_backoff)? {
        o.quarantine_backoff = d;
    }
    if let Some(d) = duration("quarantine_backoff_max", &c.quarantine_backoff_max)? {
        o.quarantine_backoff_max = d;
    }
    if o.quarantine_backoff_max < o.quarantine_backoff {
        return Err((
            "quarantine_backoff_max".into(),
            "must not be shorter than quarantine_backoff".into(),
        ));
    }
    if let Some(b) = c.retry_quarantined {
        o.retry_quarantined = b;
    }
    if let Some(b) = c.full {
        o.full = b;
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

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
