//! The kit's report: one result per check, and the assertion that they all passed.

use serde::Serialize;

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Check name, e.g. `incremental_read(product)`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

/// The results of all checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConformanceReport {
    /// The connector.
    pub connector: String,
    /// Every check, in order.
    pub checks: Vec<CheckResult>,
}

impl ConformanceReport {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// Prints one line per check (`ok  ` or `FAIL`, name, what was seen) to stdout, which the
    /// test harness shows for a failing test or under `--nocapture`.
    pub fn print(&self) {
        for c in &self.checks {
            println!(
                "{} {}: {}",
                if c.passed { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            );
        }
    }

    /// Panics listing every failed check.
    pub fn assert_passed(&self) {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("  - {}: {}", c.name, c.detail))
            .collect();
        assert!(
            failed.is_empty(),
            "connector {} fails {} conformance check(s):\n{}",
            self.connector,
            failed.len(),
            failed.join("\n")
        );
    }

    pub(super) fn push(&mut self, name: impl Into<String>, result: std::result::Result<String, String>) {
        let (passed, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.checks.push(CheckResult {
            name: name.into(),
            passed,
            detail,
        });
    }
}
