//! A real OpenCart database (MariaDB) and the real PHP bridge (`php -S`) for tests.
//!
//! MariaDB: `KOPPEL_TEST_MARIADB` = `host:port` (user `root` without password, or
//! `KOPPEL_TEST_MARIADB_USER` / `_PASSWORD`), default `127.0.0.1:3306`; `.ci/run` starts one.
//! Each [`Shop`] gets its own database, loaded from `tests/fixtures/*.sql` of one OpenCart
//! version, and its own `php -S 127.0.0.1:<port>` serving a temporary OpenCart root with
//! `config.php`, `index.php` (VERSION) and the bridge; the bridge's settings file lives outside
//! that root. Without `php`, `mariadb` or a reachable server a test prints that it was skipped
//! and passes; with `CI=true` it fails instead.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The versions the fixtures cover: (schema variant, OpenCart VERSION).
pub const VERSIONS: [(&str, &str); 3] = [("3.0", "3.0.5.0"), ("4.0", "4.0.2.3"), ("4.1", "4.1.0.4")];

/// The bridge's shared secret in tests.
pub const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the opencart crate is (the bridge and fixtures).
pub fn opencart_dir() -> PathBuf {
    let here = crate_dir();
    if here.join("bridge").exists() {
        here
    } else {
        here.join("../opencart")
    }
}

fn mariadb_addr() -> (String, String) {
    let a = std::env::var("KOPPEL_TEST_MARIADB").unwrap_or_else(|_| "127.0.0.1:3306".into());
    match a.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.to_owned()),
        None => (a, "3306".into()),
    }
}

fn mariadb_cmd(db: Option<&str>) -> Command {
    let (host, port) = mariadb_addr();
    let mut c = Command::new("mariadb");
    c.args(["--no-defaults", "--protocol=TCP", "-h", &host, "-P", &port, "-u"])
        .arg(std::env::var("KOPPEL_TEST_MARIADB_USER").unwrap_or_else(|_| "root".into()));
    if let Ok(p) = std::env::var("KOPPEL_TEST_MARIADB_PASSWORD") {
        c.arg(format!("-p{p}"));
    }
    if let Some(d) = db {
        c.arg(d);
    }
    c
}

/// Why the real-PHP tests cannot run here, if they cannot.
pub fn missing() -> Option<String> {
    let php = Command::new("php")
        .args(["-r", "exit(extension_loaded('mysqli') ? 0 : 3);"])
        .output();
    match php {
        Err(_) => return Some("`php` is not installed (apt-get install php-cli php-mysql)".into()),
        Ok(o) if !o.status.success() => return Some("PHP has no mysqli (apt-get install php-mysql)".into()),
        Ok(_) => {}
    }
    match mariadb_cmd(None).args(["-e", "SELECT 1"]).output() {
        Err(_) => Some("the `mariadb` client is not installed (apt-get install mariadb-server)".into()),
        Ok(o) if !o.status.success() => Some(format!(
            "no MariaDB at {}:{} (set KOPPEL_TEST_MARIADB; .ci/run starts one): {}",
            mariadb_addr().0,
            mariadb_addr().1,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// True when the test may run; prints why it is skipped otherwise. Under `CI=true` a missing
/// PHP or MariaDB fails the test.
pub fn available(test: &str) -> bool {
    match missing() {
        None => true,
        Some(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{test}: needs PHP and MariaDB, which CI must provide: {why}");
            }
            eprintln!("SKIPPED {test}: {why}");
            println!("SKIPPED {test}: {why}");
            false
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One OpenCart database plus the bridge serving it.
pub struct Shop {
    /// `3.0`, `4.0` or `4.1`.
    pub variant: &'static str,
    /// The database name.
    pub db: String,
    /// The bridge URL.
    pub url: String,
    /// The PHP error log of the bridge.
    pub php_log: PathBuf,
    php: Child,
    _root: tempfile::TempDir,
    _settings: tempfile::TempDir,
}

impl Shop {
    /// A fresh database of `variant` seeded from the fixtures, and the bridge on a free port.
    pub fn start(variant: &'static str) -> Shop {
        let (_, version) = VERSIONS
            .iter()
            .find(|(v, _)| *v == variant)
            .copied()
            .expect("known variant");
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let db = format!("koppel_oc{}_{}_{n}", variant.replace('.', ""), std::process::id());
        let out = mariadb_cmd(None)
            .args([
                "-e",
                &format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db} CHARACTER SET utf8mb4"),
            ])
            .output()
            .expect("mariadb");
        assert!(
            out.status.success(),
            "create database: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fx = opencart_dir().join("tests/fixtures");
        let mut sql = String::new();
        let extra = if variant == "3.0" {
            "extra-3.0.sql"
        } else {
            "extra-4.x.sql"
        };
        for f in [format!("schema-{variant}.sql"), extra.to_owned()]
            .into_iter()
            .chain((variant == "4.1").then(|| "extra-4.1.sql".to_owned()))
            .chain([format!("seed-{variant}.sql")])
        {
            sql.push_str(&std::fs::read_to_string(fx.join(&f)).expect("fixture"));
            sql.push('\n');
        }
        load(&db, &sql);

        let root = tempfile::tempdir().expect("tempdir");
        let settings = tempfile::tempdir().expect("tempdir");
        let (host, port) = mariadb_addr();
        std::fs::write(
            root.path().join("config.php"),
            format!(
                "<?php\n// OpenCart's catalog config.php (the DB_* constants the bridge reads)\n\
                 define('HTTP_SERVER', 'http://127.0.0.1/');\ndefine('DB_DRIVER', 'mysqli');\n\
                 define('DB_HOSTNAME', '{host}');\ndefine('DB_USERNAME', '{}');\ndefine('DB_PASSWORD', '{}');\n\
                 define('DB_DATABASE', '{db}');\ndefine('DB_PORT', '{port}');\ndefine('DB_PREFIX', 'oc_');\n",
                std::env::var("KOPPEL_TEST_MARIADB_USER").unwrap_or_else(|_| "root".into()),
                std::env::var("KOPPEL_TEST_MARIADB_PASSWORD").unwrap_or_default(),
            ),
        )
        .expect("config.php");
        std::fs::write(
            root.path().join("index.php"),
            format!("<?php\n// Version\ndefine('VERSION', '{version}');\n"),
        )
        .expect("index.php");
        std::fs::copy(
            opencart_dir().join("bridge/koppel-bridge.php"),
            root.path().join("koppel-bridge.php"),
        )
        .expect("copy bridge");
        let cfg = settings.path().join("koppel-bridge.json");
        let tz = if variant == "3.0" {
            // 3.0 has no config_timezone setting: the owner names the zone in the settings.
            ",\"timezone\":\"Europe/Amsterdam\""
        } else {
            ""
        };
        std::fs::write(&cfg, format!("{{\"secret\":\"{SECRET}\"{tz}}}")).expect("settings");
        let php_log = settings.path().join("php-errors.log");
        let port = free_port();
        let php = Command::new("php")
            .arg("-d")
            .arg("log_errors=1")
            .arg("-d")
            .arg(format!("error_log={}", php_log.display()))
            .arg("-d")
            .arg("date.timezone=UTC")
            .args(["-S", &format!("127.0.0.1:{port}"), "-t"])
            .arg(root.path())
            .env("KOPPEL_BRIDGE_CONFIG", &cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start php -S");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "php -S did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Shop {
            variant,
            db,
            url: format!("http://127.0.0.1:{port}/koppel-bridge.php"),
            php_log,
            php,
            _root: root,
            _settings: settings,
        }
    }

    /// Rows of a query, each a list of columns as text (`NULL` for NULL).
    pub fn sql(&self, query: &str) -> Vec<Vec<String>> {
        let out = mariadb_cmd(Some(&self.db))
            .args(["-N", "-B", "-e", query])
            .output()
            .expect("mariadb");
        assert!(
            out.status.success(),
            "{query}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect()
    }

    /// The single value of a query.
    pub fn value(&self, query: &str) -> String {
        self.sql(query)
            .first()
            .and_then(|r| r.first())
            .cloned()
            .unwrap_or_else(|| "<no row>".into())
    }

    /// Runs statements.
    pub fn exec(&self, sql: &str) {
        load(&self.db, sql);
    }

    /// The connector config for this shop.
    pub fn config(&self) -> serde_json::Value {
        serde_json::json!({
            "bridge_url": self.url,
            "secret": SECRET,
            "store_ids": [0],
            "products": {"tax_classes": {"21": 9, "9": 12, "0": 0}, "batch_size": 2},
            "stock": {"batch_size": 2},
            "orders": {"statuses": [2, 3, 5], "page_size": 1},
            "customers": {"page_size": 1},
            "payments": {"comment": "Betaald: factuur {invoice} ({amount})", "status": 3},
            "http": {"max_retries": 1, "initial_backoff_ms": 10, "max_backoff_ms": 20},
        })
    }

    /// What PHP logged (database messages go there, never into responses).
    pub fn php_errors(&self) -> String {
        std::fs::read_to_string(&self.php_log).unwrap_or_default()
    }
}

fn load(db: &str, sql: &str) {
    use std::io::Write;
    let mut child = mariadb_cmd(Some(db))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mariadb");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(sql.as_bytes())
        .expect("write sql");
    let out = child.wait_with_output().expect("mariadb");
    assert!(
        out.status.success(),
        "load sql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.php.kill();
        let _ = self.php.wait();
        let _ = mariadb_cmd(None)
            .args(["-e", &format!("DROP DATABASE IF EXISTS {}", self.db)])
            .output();
    }
}

/// Sends a raw request to the bridge (for the security tests): status and body.
pub async fn raw(url: &str, op: &str, body: &str, headers: &[(&str, String)]) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{url}?op={op}"))
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let resp = req.send().await.expect("bridge answers");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// Path of a fixture.
pub fn fixture(name: &str) -> PathBuf {
    opencart_dir().join("tests/fixtures").join(name)
}

/// The bridge file.
pub fn bridge_file() -> PathBuf {
    opencart_dir().join("bridge/koppel-bridge.php")
}

/// Whether `p` exists.
pub fn exists(p: &Path) -> bool {
    p.exists()
}
