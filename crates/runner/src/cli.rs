//! The command line: `koppel <command>`, with global `--config`, `--pair`, `--flow` and
//! `--log-format`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::logging::LogFormat;

/// koppel keeps a SnelStart administration in sync with a webshop: products, stock,
/// customers, orders, open amounts and payments.
#[derive(Debug, Parser)]
#[command(name = "koppel", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Start with `koppel demo` (no accounts needed), then `koppel init`.\n\
Exit codes: 0 ok, 1 some records quarantined, 2 config error, 3 a connector unreachable or \
unauthorised, 4 other failure."
)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

impl Global {
    /// The pairs and flows these options select, for the runtime.
    pub fn selection(&self) -> koppel_runtime::Selection {
        koppel_runtime::Selection {
            config: self.config.clone(),
            pair: self.pair.clone(),
            flows: self.flow.clone(),
        }
    }
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// The config file.
    #[arg(long, short = 'c', global = true, env = "KOPPEL_CONFIG", default_value = crate::config::DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Only this pair (by name).
    #[arg(long, global = true)]
    pub pair: Option<String>,
    /// Only these flows (products, stock, customers, orders, open_amounts, payments); repeat or
    /// separate by commas.
    #[arg(long, global = true, value_delimiter = ',', value_parser = parse_flow)]
    pub flow: Vec<crate::flows::Flow>,
    /// Log line format (on stderr). Filter with RUST_LOG, e.g. `RUST_LOG=koppel=debug`.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

fn parse_flow(s: &str) -> Result<crate::flows::Flow, String> {
    crate::flows::Flow::parse(s).ok_or_else(|| {
        format!("unknown flow {s:?}; flows are products, stock, customers, orders, open_amounts, payments")
    })
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starting config (from the connectors' examples).
    Init(InitArgs),
    /// Check the config file without contacting anything; names the key path of every error.
    Validate,
    /// Probe every connector without changing anything: credentials, permissions, reachability.
    Check,
    /// Dry run: show what `run` would create, update (field by field), skip and quarantine.
    Plan(PlanArgs),
    /// One pass of the selected flows of the selected pairs, then a summary.
    Run(RunArgs),
    /// Run every flow on its own schedule until SIGINT/SIGTERM (finishes the current batch first).
    Daemon,
    /// Last runs per pair and flow, failures, quarantine and next scheduled run.
    Status(StatusArgs),
    /// Retry quarantined records now (all, or one with --key).
    Retry(RetryArgs),
    /// Print the JSON Schema of the config file.
    Schema,
    /// List the connectors this koppel knows: name, role, what they read and write.
    Connectors(ConnectorsArgs),
    /// A full sync against built-in simulators (no account, no network), in seconds.
    Demo(DemoArgs),
    /// Serve the SnelStart and shop simulators on loopback and print a config for them.
    Sandbox(SandboxArgs),
    /// Generate documentation (used to keep docs/configuration.md up to date).
    #[command(hide = true)]
    Docs {
        /// What to generate: `config`.
        what: String,
    },
}

/// `koppel init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The shop connector (see `koppel connectors`). Default: the first shop connector by name.
    #[arg(long)]
    pub shop: Option<String>,
    /// Where to write it (default: the --config path, `koppel.toml`); `-` prints it.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `koppel plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Ignore stored cursors: consider every record.
    #[arg(long)]
    pub full: bool,
    /// Also list unchanged records.
    #[arg(long)]
    pub all: bool,
    /// List at most this many records per flow (the rest is counted: "... and N more"), so a
    /// plan of any size fits in memory.
    #[arg(long, default_value_t = koppel_core::engine::DEFAULT_RECORD_LIMIT)]
    pub limit: usize,
}

/// `koppel run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Ignore stored cursors this once: read everything (unchanged records cost no write).
    #[arg(long)]
    pub full: bool,
    /// Print the run reports as JSON instead of the summary table (with what happened to
    /// each record, up to --limit per flow).
    #[arg(long)]
    pub json: bool,
    /// In --json: list at most this many records per flow.
    #[arg(long, default_value_t = koppel_core::engine::DEFAULT_RECORD_LIMIT)]
    pub limit: usize,
    /// In --json: also list unchanged records.
    #[arg(long)]
    pub all: bool,
}

/// `koppel status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Also write a self-contained HTML page (inline CSS and SVG) to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
    /// How many recent runs to consider per pair and flow.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
}

/// `koppel retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Only the record with this key (SKU, order number, customer key).
    #[arg(long)]
    pub key: Option<String>,
    /// Print the reports as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `koppel connectors`.
#[derive(Debug, Args)]
pub struct ConnectorsArgs {
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `koppel demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Articles in the simulated SnelStart administration.
    #[arg(long, default_value_t = 200)]
    pub articles: usize,
    /// Orders in the simulated shop.
    #[arg(long, default_value_t = 50)]
    pub orders: usize,
    /// Seed of the simulated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The simulated shop: a shop simulator's name (see `koppel connectors`), or `all` for one
    /// demo per registered shop simulator, one after the other. Default: the first one.
    ///
    /// `<name>:<variant>` picks a release other than the simulator's default, e.g.
    /// `prestashop:1.7` (`koppel connectors --json` lists the `simulator_variants`, default
    /// first); `all` runs each simulator once, as its default.
    #[arg(long)]
    pub shop: Option<String>,
}

/// `koppel sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Where the SnelStart simulator listens (loopback only).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub snelstart: String,
    /// The shop simulator, as `<type>[:<variant>]@<address>` (loopback only), e.g.
    /// `magento@127.0.0.1:8082`.
    ///
    /// `:<variant>` picks a release other than the simulator's default, e.g.
    /// `prestashop:1.7@127.0.0.1:8082` for PrestaShop 1.7 (complete PUT, no PATCH) instead of
    /// 8.x; an unknown variant is refused with the known ones. `koppel connectors --json` lists
    /// the shops with a simulator (`"simulator": true`) and their `simulator_variants`, the
    /// default first. Default: the first of them on 127.0.0.1:8082.
    #[arg(long)]
    pub shop: Option<String>,
    /// Articles to seed.
    #[arg(long, default_value_t = 200)]
    pub articles: usize,
    /// Orders to seed in the shop.
    #[arg(long, default_value_t = 50)]
    pub orders: usize,
    /// Seed of the generated data (same seed, same data).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Also write the printed config to this file.
    #[arg(long)]
    pub config_out: Option<PathBuf>,
    /// The state file named in the printed config.
    #[arg(long, default_value = "koppel-sandbox.db")]
    pub state: String,
    /// Request limits of the simulated SnelStart administration (the printed config matches).
    #[arg(long, value_enum, default_value_t = crate::sim::Limits::Production)]
    pub limits: crate::sim::Limits,
}

impl From<&InitArgs> for koppel_runtime::init::InitArgs {
    fn from(a: &InitArgs) -> Self {
        koppel_runtime::init::InitArgs {
            shop: a.shop.clone(),
            output: a.output.clone(),
            force: a.force,
        }
    }
}

impl From<&StatusArgs> for koppel_runtime::status::StatusArgs {
    fn from(a: &StatusArgs) -> Self {
        koppel_runtime::status::StatusArgs {
            html: a.html.clone(),
            json: a.json,
            runs: a.runs,
        }
    }
}
