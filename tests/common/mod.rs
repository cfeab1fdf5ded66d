//! Helpers for the end-to-end tests: run the built `koppel` binary, start `koppel sandbox` as
//! a child process, poll for files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `koppel` binary cargo built for these tests.
pub fn koppel() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_koppel"));
    c.env_remove("KOPPEL_CONFIG").env("RUST_LOG", "warn");
    c
}

/// Runs koppel with `args` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    koppel().current_dir(dir).args(args).output().expect("run koppel")
}

/// stdout + stderr as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Waits (polling) until `f` holds; panics with `what` after a generous deadline. The deadline
/// only guards against a hang; no test asserts on timing.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// The shops with a simulator, as the built binary reports them (`koppel connectors --json`,
/// `"simulator": true`): the end-to-end tests run for each.
pub fn shop_simulators() -> Vec<String> {
    let dir = std::env::temp_dir();
    let out = run(&dir, &["connectors", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("connectors --json");
    let mut names: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter(|c| c["simulator"] == true && c["role"] == "shop")
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// What the end-to-end tests run through the binary: every shop with a simulator as
/// [`shop_simulators`] names it (its default variant), then `<name>:<variant>` for each of its
/// other variants (`koppel connectors --json`, `"simulator_variants"`, default first).
pub fn shop_simulator_runs() -> Vec<String> {
    let dir = std::env::temp_dir();
    let out = run(&dir, &["connectors", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("connectors --json");
    let mut runs = shop_simulators();
    for name in shop_simulators() {
        let entry = list
            .as_array()
            .expect("a list")
            .iter()
            .find(|c| c["name"] == name.as_str())
            .expect("listed");
        let variants = entry["simulator_variants"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no simulator_variants list in {entry}"));
        for v in variants.iter().skip(1) {
            let v = v.as_str().expect("a variant name");
            runs.push(format!("{name}:{v}"));
        }
    }
    runs
}

/// `koppel sandbox` running as a child process; stopped with SIGTERM on drop.
pub struct Sandbox {
    pub child: Child,
    pub config: PathBuf,
}

impl Sandbox {
    /// Starts the simulators (Magento) with `articles` articles, `orders` orders and `seed`.
    pub fn start_seeded(dir: &Path, articles: usize, orders: usize, seed: u64) -> Sandbox {
        Sandbox::start_seeded_shop(dir, "magento", articles, orders, seed)
    }

    /// Starts the SnelStart simulator and the simulator of `shop` with `articles` articles,
    /// `orders` orders and `seed`, without rate limits, and waits for the config they print.
    pub fn start_seeded_shop(dir: &Path, shop: &str, articles: usize, orders: usize, seed: u64) -> Sandbox {
        let config = dir.join("koppel.toml");
        let shop_arg = format!("{shop}@127.0.0.1:0");
        let child = koppel()
            .current_dir(dir)
            .args(["sandbox", "--snelstart", "127.0.0.1:0", "--shop", &shop_arg])
            .args([
                "--articles",
                &articles.to_string(),
                "--orders",
                &orders.to_string(),
            ])
            .args([
                "--seed",
                &seed.to_string(),
                "--limits",
                "unlimited",
                "--state",
                "koppel.db",
            ])
            .arg("--config-out")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start koppel sandbox");
        let mut sb = Sandbox { child, config };
        let cfg = sb.config.clone();
        wait_until("the sandbox config", || cfg.exists());
        assert!(sb.child.try_wait().unwrap().is_none(), "sandbox exited early");
        sb
    }

    /// Starts the simulators (the first shop simulator) on free loopback ports and waits for
    /// the config they print.
    pub fn start(dir: &Path, extra: &[&str]) -> Sandbox {
        let shop = shop_simulators().into_iter().next().expect("a shop simulator");
        Sandbox::start_shop(dir, &shop, extra)
    }

    /// Starts the SnelStart simulator and the simulator of `shop` on free loopback ports and
    /// waits for the config they print.
    pub fn start_shop(dir: &Path, shop: &str, extra: &[&str]) -> Sandbox {
        let config = dir.join("koppel.toml");
        let shop_arg = format!("{shop}@127.0.0.1:0");
        let child = koppel()
            .current_dir(dir)
            .args([
                "sandbox",
                "--snelstart",
                "127.0.0.1:0",
                "--shop",
                &shop_arg,
                "--articles",
                "30",
                "--orders",
                "12",
                "--limits",
                "unlimited",
                "--state",
                "koppel.db",
                "--config-out",
            ])
            .arg(&config)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start koppel sandbox");
        let mut sb = Sandbox { child, config };
        let cfg = sb.config.clone();
        wait_until("the sandbox config", || cfg.exists());
        assert!(sb.child.try_wait().unwrap().is_none(), "sandbox exited early");
        sb
    }
}

/// Sends SIGTERM to a child.
pub fn sigterm(child: &Child) {
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill failed");
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            sigterm(&self.child);
            let _ = self.child.wait();
        }
    }
}
