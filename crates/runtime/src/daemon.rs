//! `koppel daemon`: every scheduled flow on its own schedule. A flow never overlaps itself
//! (one task per flow); flows of one pair take turns (they share the pair's lease); a failed run
//! is retried after an exponential, capped backoff; SIGINT/SIGTERM let the current batch
//! finish, store the checkpoint and exit 0.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use koppel_core::engine::{Engine, Flow, FlowOptions, Pair, RunOptions};
use tokio::sync::{watch, Mutex};

use crate::config::{ConfigError, ConfigErrors};
use crate::report::exit;
use crate::run::{build_pair, load, open_store, CmdResult, Failure, Selection};
use crate::schedule::{backoff, Schedule};

/// Longest wait after repeated failures.
pub const BACKOFF_CAP: Duration = Duration::from_secs(3600);

struct Job {
    pair: Pair,
    flow: Flow,
    options: FlowOptions,
    schedule: Schedule,
    turn: Arc<Mutex<()>>,
}

/// `koppel daemon`: runs until SIGINT or SIGTERM.
pub async fn daemon(sel: &Selection) -> CmdResult {
    daemon_until(sel, wait_for_signal()).await
}

/// The daemon until `stop` completes (a signal, a channel, a test's command); then the
/// current batches finish, the checkpoints are stored and it returns.
pub async fn daemon_until(sel: &Selection, stop: impl std::future::Future<Output = ()>) -> CmdResult {
    let config = load(sel)?;
    let specs = config.select_pairs(sel.pair.as_deref())?;
    let mut jobs = Vec::new();
    for spec in specs {
        let pair = build_pair(&config, spec)?;
        let turn = Arc::new(Mutex::new(()));
        for f in &spec.flows {
            if !sel.flows.is_empty() && !sel.flows.contains(&f.flow) {
                continue;
            }
            match &f.schedule {
                Some(s) => jobs.push(Job {
                    pair: pair.clone(),
                    flow: f.flow,
                    options: f.options.clone(),
                    schedule: s.clone(),
                    turn: turn.clone(),
                }),
                None => tracing::warn!(pair = %spec.name, flow = %f.flow,
                    "no schedule; the daemon does not run this flow (add `schedule` to run it)"),
            }
        }
    }
    if jobs.is_empty() {
        return Err(Failure::Config(ConfigErrors(vec![ConfigError {
            file: config.path.display().to_string(),
            line: None,
            path: "pairs".into(),
            message:
                "no selected flow has a schedule; add `schedule = \"15m\"` to a [pairs.flows.<flow>] table"
                    .into(),
        }])));
    }
    let store = open_store(&config)?;
    let engine = Arc::new(Engine::new(store));
    let cancel = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);

    let mut handles = Vec::new();
    for job in jobs {
        tracing::info!(pair = %job.pair.name, flow = %job.flow, schedule = %job.schedule, "scheduled");
        handles.push(tokio::spawn(run_job(
            job,
            engine.clone(),
            cancel.clone(),
            stop_rx.clone(),
            config.timezone,
        )));
    }
    tracing::info!(
        flows = handles.len(),
        pid = std::process::id(),
        "daemon started; SIGINT or SIGTERM stops it"
    );

    stop.await;
    tracing::info!("stopping: finishing the current batches and storing checkpoints");
    cancel.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    tracing::info!("daemon stopped");
    Ok(exit::OK)
}

/// Waits for SIGINT or SIGTERM (Ctrl-C on Windows).
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = int.recv() => tracing::info!("SIGINT received"),
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn sleep_or_stop(until: chrono::DateTime<Utc>, stop: &mut watch::Receiver<bool>) -> bool {
    let wait = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let stopped = tokio::select! {
        _ = tokio::time::sleep(wait) => false,
        _ = stop.wait_for(|s| *s) => true,
    };
    !stopped && !*stop.borrow()
}

async fn run_job(
    job: Job,
    engine: Arc<Engine>,
    cancel: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
    tz: Tz,
) {
    let mut failures: u32 = 0;
    // Intervals start right away; cron waits for its first time.
    let mut next = match &job.schedule {
        Schedule::Every(_) => Utc::now(),
        Schedule::Cron { .. } => job.schedule.next_after(Utc::now(), tz).unwrap_or_else(Utc::now),
    };
    loop {
        if !sleep_or_stop(next, &mut stop).await {
            break;
        }
        let _turn = tokio::select! {
            g = job.turn.lock() => g,
            _ = stop.wait_for(|s| *s) => break,
        };
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        let opts = RunOptions {
            cancel: cancel.clone(),
            ..Default::default()
        };
        let result = engine
            .run(&job.pair, &[(job.flow, job.options.clone())], &opts)
            .await;
        drop(_turn);
        let now = Utc::now();
        let failed = match &result {
            Ok(report) => {
                for f in &report.flows {
                    tracing::info!(pair = %report.pair, flow = %f.flow, status = f.status.as_str(),
                        read = f.read, created = f.created, updated = f.updated, unchanged = f.unchanged,
                        quarantined = f.quarantined, ms = f.duration_ms, "run finished");
                    if let Some(fatal) = &f.fatal {
                        tracing::error!(pair = %report.pair, flow = %f.flow, class = f.fatal_class.as_deref().unwrap_or(""), "{fatal}");
                    }
                }
                !report.ok()
            }
            Err(e) => {
                tracing::error!(pair = %job.pair.name, flow = %job.flow, class = e.class(), "run failed: {e}");
                true
            }
        };
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        if failed {
            failures += 1;
            let wait = backoff(failures, BACKOFF_CAP);
            tracing::warn!(pair = %job.pair.name, flow = %job.flow, failures, retry_in = %humantime::format_duration(wait), "backing off");
            next = now + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::seconds(3600));
        } else {
            failures = 0;
            next = job
                .schedule
                .next_after(now, tz)
                .unwrap_or(now + chrono::Duration::seconds(3600));
        }
        tracing::debug!(pair = %job.pair.name, flow = %job.flow, next = %next, "next run");
    }
}
