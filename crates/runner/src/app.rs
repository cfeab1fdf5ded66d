//! Command dispatch: each `koppel` command to its implementation. The small commands that act
//! on a config (validate, check, plan, run, retry, schema, docs) are here; the others live in
//! their own modules (`connectors`, `demo`, `sandbox`) or in the runtime (`init`, `daemon`,
//! `status`).

use clap::Parser;
use koppel_core::engine::Mode;
use koppel_core::Error;

use crate::cli::{Cli, Command, Global, PlanArgs, RetryArgs, RunArgs};
use crate::passes::{run_pairs, Listing};
use crate::progress::ProgressUi;
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
        Command::Connectors(args) => crate::connectors::connectors(&args),
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
