//! The config file: one TOML file with the state file, the time zone and the pairs. Loading it
//! resolves secrets (`${VAR}`, `<key>_file`), checks every key of the runner's own tables,
//! hands each connector table to its connector's `validate`, checks that every enabled flow is
//! possible for the pair's connectors and parses the schedules. No I/O besides reading the file
//! (and secret files). Every error names the file, the line and the key path.
//!
//! Rooms: [`file`] (the file's shape and schema), [`validate`] (text to [`Config`]),
//! [`spec`] (the validated pairs), [`error`] (the errors), `locate` (lines of key paths).

use std::fmt;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use koppel_core::secret::Redactor;

pub mod error;
pub mod file;
mod locate;
pub mod spec;
pub mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use file::{AccountingTable, ConfigFile, FlowConfig, FlowsConfig, PairConfig, ShopTable};
pub use spec::{ConnectorSpec, FlowSpec, PairSpec};

/// The default config file name.
pub const DEFAULT_CONFIG: &str = "koppel.toml";

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
