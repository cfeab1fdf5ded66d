//! `koppel daemon` runs two flows on 1-second schedules against the simulators and stops
//! cleanly (exit 0) on SIGTERM after finishing its current batch.

mod common;

use std::process::Stdio;

use common::{run, sigterm, text, wait_until, Sandbox};

fn runs_of(dir: &std::path::Path, flow: &str) -> usize {
    let out = run(dir, &["status", "--json"]);
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return 0;
    };
    v["flows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["flow"] == flow)
        .map(|f| f["runs"].as_array().map_or(0, |r| r.len()))
        .sum()
}

#[test]
fn daemon_runs_flows_on_their_schedules_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(dir.path(), &[]);
    let config = std::fs::read_to_string(&sb.config)
        .unwrap()
        .replace(
            "[pairs.flows.products]\nschedule = \"15m\"",
            "[pairs.flows.products]\nschedule = \"1s\"",
        )
        .replace(
            "[pairs.flows.stock]\nschedule = \"5m\"",
            "[pairs.flows.stock]\nschedule = \"1s\"",
        );
    assert_eq!(config.matches("schedule = \"1s\"").count(), 2, "{config}");
    std::fs::write(dir.path().join("daemon.toml"), config).unwrap();

    let mut daemon = common::koppel()
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .args(["--config", "daemon.toml", "--flow", "products,stock", "daemon"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let d = dir.path().to_path_buf();
    std::fs::copy(dir.path().join("daemon.toml"), dir.path().join("koppel.toml")).unwrap();
    wait_until("three runs of products and of stock", || {
        runs_of(&d, "products") >= 3 && runs_of(&d, "stock") >= 3
    });
    assert!(daemon.try_wait().unwrap().is_none(), "daemon exited early");

    sigterm(&daemon);
    let out = daemon.wait_with_output().expect("wait for the daemon");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = text(&out);
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(log.contains("daemon stopped"), "{log}");

    // Runs after the first found nothing new: unchanged records cost no write.
    let status = run(&d, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let products = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["flow"] == "products")
        .unwrap();
    let runs = products["runs"].as_array().unwrap();
    assert!(
        runs.iter()
            .all(|r| r["status"] == "ok" || r["status"] == "cancelled"),
        "{runs:?}"
    );
    assert_eq!(runs[0]["created"], 0, "latest run created nothing: {:?}", runs[0]);
}
