//! Running flows: which pairs and flows a command acts on ([`Selection`]), the config loaded
//! and its pairs built from the registry, one pass of the flows, retries; and why it failed
//! ([`Failure`], with the process exit code).

use std::path::PathBuf;
use std::sync::Arc;

use koppel_core::engine::{Engine, Flow, FlowOptions, Pair, RunOptions, RunReport};
use koppel_core::state::{SqliteStore, StateStore};
use koppel_core::Error;

use crate::config::{Config, ConfigError, ConfigErrors, PairSpec};
use crate::report::exit;

/// Why a command failed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// The config is wrong (exit 2).
    Config(ConfigErrors),
    /// A connector is unreachable or refused us (exit 3).
    Connector(String),
    /// Anything else (exit 4).
    Other(String),
}

impl Failure {
    /// The exit code.
    pub fn code(&self) -> i32 {
        match self {
            Failure::Config(_) => exit::CONFIG,
            Failure::Connector(_) => exit::CONNECTOR,
            Failure::Other(_) => exit::OTHER,
        }
    }

    /// A failure from a koppel error, by class.
    pub fn from_error(context: &str, e: &Error) -> Failure {
        let msg = crate::logging::redact(&format!("{context}: {e}"));
        match e {
            Error::Config { path, message } => Failure::Config(ConfigErrors(vec![ConfigError {
                file: context.to_owned(),
                line: None,
                path: path.clone(),
                message: crate::logging::redact(message),
            }])),
            Error::Auth { .. } | Error::Transient { .. } | Error::RateLimited { .. } => {
                Failure::Connector(msg)
            }
            _ => Failure::Other(msg),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Config(errors) => {
                for (i, e) in errors.0.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{}", crate::logging::redact(&e.to_string()))?;
                }
                Ok(())
            }
            Failure::Connector(m) | Failure::Other(m) => write!(f, "{}", crate::logging::redact(m)),
        }
    }
}

impl std::error::Error for Failure {}

impl From<ConfigErrors> for Failure {
    fn from(e: ConfigErrors) -> Self {
        Failure::Config(e)
    }
}

/// A command's result: an exit code, or a failure.
pub type CmdResult = Result<i32, Failure>;

/// What a command acts on: the config file, one pair or all, some flows or all enabled ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The config file.
    pub config: PathBuf,
    /// Only this pair (by name); `None`: every pair.
    pub pair: Option<String>,
    /// Only these flows; empty: every enabled flow.
    pub flows: Vec<Flow>,
}

impl Selection {
    /// Every pair and every enabled flow of the config at `config`.
    pub fn all(config: impl Into<PathBuf>) -> Self {
        Selection {
            config: config.into(),
            pair: None,
            flows: Vec::new(),
        }
    }
}

/// Loads the config and makes its secrets known to the log redactor.
pub fn load(sel: &Selection) -> Result<Config, Failure> {
    let config = Config::load(&sel.config)?;
    crate::logging::add_secrets(&config.redactor);
    Ok(config)
}

/// The selected flows of a pair (`sel.flows`, or all enabled ones).
pub fn selected_flows(
    config: &Config,
    pair: &PairSpec,
    sel: &Selection,
) -> Result<Vec<(Flow, FlowOptions)>, Failure> {
    if sel.flows.is_empty() {
        return Ok(pair.flows.iter().map(|f| (f.flow, f.options.clone())).collect());
    }
    let mut out = Vec::new();
    for flow in Flow::all().into_iter().filter(|f| sel.flows.contains(f)) {
        match pair.flow(flow) {
            Some(spec) => out.push((flow, spec.options.clone())),
            None => {
                return Err(Failure::Config(ConfigErrors(vec![ConfigError {
                    file: config.path.display().to_string(),
                    line: None,
                    path: format!("pairs[{}].flows.{flow}", pair.index),
                    message: format!(
                    "--flow {flow}: the flow is not enabled for pair {:?}; add a [pairs.flows.{flow}] table",
                    pair.name
                ),
                }])))
            }
        }
    }
    Ok(out)
}

/// Builds a pair's connectors from the registry (no I/O).
pub fn build_pair(config: &Config, spec: &PairSpec) -> Result<Pair, Failure> {
    spec.build()
        .map_err(|e| Failure::from_error(&config.path.display().to_string(), &e))
}

/// Opens the state store named in the config.
pub fn open_store(config: &Config) -> Result<Arc<dyn StateStore>, Failure> {
    if let Some(dir) = config.state_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            return Err(Failure::Other(format!(
                "the directory of the state file {} does not exist; create it or change `state`",
                config.state_path.display()
            )));
        }
    }
    let store = SqliteStore::open(&config.state_path).map_err(|e| {
        Failure::Other(format!(
            "cannot open the state file {}: {e}",
            config.state_path.display()
        ))
    })?;
    Ok(Arc::new(store))
}

/// Runs (or plans, by `opts.mode`) the selected flows of the selected pairs, one pair after
/// the other, each with `opts` (progress callback, cancel flag, ...); `full` ignores the stored
/// cursors this once.
pub async fn run_pairs(sel: &Selection, full: bool, opts: &RunOptions) -> Result<Vec<RunReport>, Failure> {
    let config = load(sel)?;
    let specs = config.select_pairs(sel.pair.as_deref())?;
    let mut work = Vec::new();
    for spec in &specs {
        let mut flows = selected_flows(&config, spec, sel)?;
        if full {
            for (_, o) in &mut flows {
                o.full = true;
            }
        }
        work.push((build_pair(&config, spec)?, flows));
    }
    let store = open_store(&config)?;
    let engine = Engine::new(store);
    let mut reports = Vec::new();
    for (pair, flows) in work {
        if flows.is_empty() {
            tracing::warn!(pair = %pair.name, "no flows enabled; nothing to do");
            continue;
        }
        let report = engine
            .run(&pair, &flows, opts)
            .await
            .map_err(|e| Failure::from_error(&config.path.display().to_string(), &e))?;
        reports.push(report);
    }
    Ok(reports)
}

/// Retries the quarantined records of the selected pairs now: of at most one selected flow
/// (none: every flow), all of them or the one with `key`.
pub async fn retry_pairs(sel: &Selection, key: Option<&str>) -> Result<Vec<RunReport>, Failure> {
    let config = load(sel)?;
    let store = open_store(&config)?;
    let engine = Engine::new(store);
    let flow = match sel.flows.as_slice() {
        [] => None,
        [one] => Some(*one),
        _ => {
            return Err(Failure::Other(
                "retry takes at most one --flow (or none for all flows)".into(),
            ))
        }
    };
    let mut reports = Vec::new();
    for spec in config.select_pairs(sel.pair.as_deref())? {
        let pair = build_pair(&config, spec)?;
        let report = engine
            .retry_quarantined(&pair, flow, key, &RunOptions::default())
            .await
            .map_err(|e| Failure::from_error(&config.path.display().to_string(), &e))?;
        reports.push(report);
    }
    Ok(reports)
}
