//! Command dispatch and the commands that act on a config: validate, check, plan, run, retry,
//! connectors, schema.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use koppel_core::engine::{Flow, Mode, Progress, RunOptions, RunReport};
use koppel_core::registry::{self, Role};
use koppel_core::{Error, Kind};

use crate::cli::{Cli, Command, ConnectorsArgs, Global, PlanArgs, RetryArgs, RunArgs};
use crate::report::{self, exit};

use koppel_runtime::run::{build_pair, load, CmdResult, Failure};

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    crate::logging::init(cli.global.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::OTHER;
        }
    };
    let result = rt.block_on(dispatch(cli));
    match result {
        Ok(code) => code,
        Err(f) => {
            match &f {
                Failure::Config(errors) => {
                    for e in &errors.0 {
                        eprintln!("{}", crate::logging::redact(&e.to_string()));
                    }
                    eprintln!("config error: fix the above and run `koppel validate`");
                }
                Failure::Connector(m) => {
                    eprintln!("error: {}", crate::logging::redact(m));
                    eprintln!("(exit 3: a connector is unreachable or refused the credentials; see docs/troubleshooting.md)");
                }
                Failure::Other(m) => eprintln!("error: {}", crate::logging::redact(m)),
            }
            f.code()
        }
    }
}

async fn dispatch(cli: Cli) -> CmdResult {
    let g = cli.global;
    match cli.command {
        Command::Init(args) => crate::init::init(&g.config, &(&args).into()),
        Command::Validate => validate(&g),
        Command::Check => check(&g).await,
        Command::Plan(args) => plan(&g, &args).await,
        Command::Run(args) => run(&g, &args).await,
        Command::Daemon => crate::daemon::daemon(&g.selection()).await,
        Command::Status(args) => crate::status::status(&g.selection(), &(&args).into()).await,
        Command::Retry(args) => retry(&g, &args).await,
        Command::Schema => {
            let schema = crate::schema::config_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).map_err(|e| Failure::Other(e.to_string()))?
            );
            Ok(exit::OK)
        }
        Command::Connectors(args) => connectors(&args),
        Command::Demo(args) => crate::demo::demo(&args).await,
        Command::Sandbox(args) => crate::sandbox::sandbox(&args).await,
        Command::Docs { what } => match what.as_str() {
            "config" => {
                print!("{}", crate::schema::configuration_markdown());
                Ok(exit::OK)
            }
            other => Err(Failure::Other(format!(
                "unknown docs target {other:?}; try `config`"
            ))),
        },
    }
}

fn validate(g: &Global) -> CmdResult {
    let config = load(&g.selection())?;
    for p in &config.pairs {
        build_pair(&config, p)?;
    }
    println!("{}: ok", config.path.display());
    println!("state file: {}", config.state_path.display());
    println!("time zone: {}", config.timezone);
    for p in &config.pairs {
        println!(
            "pair {:?}: {} <-> {}",
            p.name, p.accounting.descriptor.name, p.shop.descriptor.name
        );
        if p.flows.is_empty() {
            println!("  no flows enabled; add [pairs.flows.<flow>] tables");
        }
        for f in &p.flows {
            let sched = f
                .schedule
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "no schedule (only `koppel run`)".into());
            println!("  {}: {sched}", f.flow);
        }
    }
    Ok(exit::OK)
}

fn kinds(ks: &[Kind]) -> String {
    if ks.is_empty() {
        "-".into()
    } else {
        ks.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
    }
}

fn connectors(args: &ConnectorsArgs) -> CmdResult {
    let all = registry::connectors();
    if args.json {
        let v: Vec<_> = all
            .iter()
            .map(|d| {
                serde_json::json!({
                    "name": d.name,
                    "role": d.role,
                    "reads": d.capabilities.sources,
                    "writes": d.capabilities.sinks,
                    "description": d.description,
                    // A simulator is registered for it (`koppel demo --shop`, `koppel sandbox`).
                    "simulator": koppel_sandbox::registry::find_shop(d.name).is_some(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| Failure::Other(e.to_string()))?
        );
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|d| {
            vec![
                d.name.to_owned(),
                match d.role {
                    Role::Accounting => "accounting".into(),
                    Role::Shop => "shop".into(),
                },
                kinds(d.capabilities.sources),
                kinds(d.capabilities.sinks),
                d.description.to_owned(),
            ]
        })
        .collect();
    // Left-align every column here.
    let mut widths = [4usize, 4, 5, 6, 11];
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!(
        "{}",
        line(&["name", "role", "reads", "writes", "description"].map(String::from))
    );
    for r in &rows {
        println!("{}", line(r));
    }
    Ok(exit::OK)
}

async fn check(g: &Global) -> CmdResult {
    let config = load(&g.selection())?;
    let mut code = exit::OK;
    for spec in config.select_pairs(g.pair.as_deref())? {
        let pair = build_pair(&config, spec)?;
        for (side, c) in [("accounting", &pair.accounting), ("shop", &pair.shop)] {
            let label = format!("{}/{side} ({})", pair.name, c.name());
            match c.check().await {
                Ok(report) => {
                    println!("{label}: ok");
                    for line in report.checks {
                        println!("  {}", crate::logging::redact(&line));
                    }
                }
                Err(e) => {
                    let e = spec.side_error(side, e);
                    println!("{label}: FAILED: {}", crate::logging::redact(&e.to_string()));
                    if let Some(h) = report::hint_for_class(e.class()) {
                        println!("  -> {h}");
                    }
                    let c = match &e {
                        Error::Config { .. } => exit::CONFIG,
                        Error::Auth { .. } | Error::Transient { .. } | Error::RateLimited { .. } => {
                            exit::CONNECTOR
                        }
                        _ => exit::OTHER,
                    };
                    code = report::worst(code, c);
                }
            }
        }
    }
    Ok(code)
}

/// Progress display: bars on a terminal, log lines otherwise.
pub struct ProgressUi {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<(String, Flow), ProgressBar>>,
}

impl ProgressUi {
    /// Bars when stdout is a terminal and `enabled`.
    pub fn new(enabled: bool) -> Arc<Self> {
        let multi = (enabled && std::io::stdout().is_terminal()).then(MultiProgress::new);
        Arc::new(ProgressUi {
            multi,
            bars: Mutex::new(HashMap::new()),
        })
    }

    /// The callback for the engine.
    pub fn callback(self: &Arc<Self>) -> koppel_core::engine::ProgressFn {
        let me = self.clone();
        Arc::new(move |p: Progress| me.update(p))
    }

    fn update(&self, p: Progress) {
        let msg = format!(
            "read {} · created {} · updated {} · unchanged {} · quarantined {}",
            p.read, p.created, p.updated, p.unchanged, p.quarantined
        );
        let Some(multi) = &self.multi else {
            // Not a terminal: the engine logs each finished flow; pages only at debug level.
            tracing::debug!(pair = %p.pair, flow = %p.flow, read = p.read, done = p.done, "progress");
            return;
        };
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry((p.pair.clone(), p.flow)).or_insert_with(|| {
            let b = multi.add(ProgressBar::new_spinner());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:>24} {elapsed:>4} {msg}") {
                b.set_style(style);
            }
            b.set_prefix(format!("{}/{}", p.pair, p.flow));
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        if p.done {
            bar.finish_with_message(msg);
        } else {
            bar.set_message(msg);
        }
    }

    /// Clears the bars (before the summary is printed).
    pub fn finish(&self) {
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        for b in bars.values() {
            if !b.is_finished() {
                b.finish();
            }
        }
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}

/// Which records a report lists (see [`RunOptions::record_limit`]).
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    /// At most this many per flow.
    pub limit: usize,
    /// Also the unchanged ones.
    pub unchanged: bool,
}

/// Runs (or plans) the selected flows of the selected pairs, one pair after the other.
pub async fn run_pairs(
    g: &Global,
    mode: Mode,
    full: bool,
    progress: Option<&Arc<ProgressUi>>,
    listing: Listing,
) -> Result<Vec<RunReport>, Failure> {
    let opts = RunOptions {
        mode,
        progress: progress.map(|p| p.callback()),
        record_limit: listing.limit,
        list_unchanged: listing.unchanged,
        ..Default::default()
    };
    let reports = koppel_runtime::run::run_pairs(&g.selection(), full, &opts).await;
    if let Some(p) = progress {
        p.finish();
    }
    reports
}

async fn plan(g: &Global, args: &PlanArgs) -> CmdResult {
    let listing = Listing {
        limit: args.limit,
        unchanged: args.all,
    };
    let reports = run_pairs(g, Mode::Plan, args.full, None, listing).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).map_err(|e| Failure::Other(e.to_string()))?
        );
    } else {
        print!("{}", crate::logging::redact(&report::plan(&reports, args.all)));
    }
    Ok(report::exit_code(&reports))
}

async fn run(g: &Global, args: &RunArgs) -> CmdResult {
    let ui = ProgressUi::new(!args.json);
    let listing = Listing {
        limit: args.limit,
        unchanged: args.all,
    };
    let reports = run_pairs(g, Mode::Run, args.full, Some(&ui), listing).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).map_err(|e| Failure::Other(e.to_string()))?
        );
    } else {
        print!("{}", crate::logging::redact(&report::summary(&reports)));
    }
    Ok(report::exit_code(&reports))
}

async fn retry(g: &Global, args: &RetryArgs) -> CmdResult {
    let reports = koppel_runtime::run::retry_pairs(&g.selection(), args.key.as_deref()).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).map_err(|e| Failure::Other(e.to_string()))?
        );
    } else {
        let retried: u64 = reports.iter().flat_map(|r| &r.flows).map(|f| f.retried).sum();
        if retried == 0 {
            println!(
                "nothing to retry{}",
                args.key
                    .as_deref()
                    .map(|k| format!(" for key {k:?}"))
                    .unwrap_or_default()
            );
        }
        print!("{}", crate::logging::redact(&report::summary(&reports)));
    }
    Ok(report::exit_code(&reports))
}
