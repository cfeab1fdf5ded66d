//! Human-readable output: the plan diff, the run summary table, and exit codes from reports.

use std::fmt::Write as _;

use koppel_core::engine::{ChangeAction, FlowReport, PlannedChange, RunReport};
use serde_json::Value;

/// Process exit codes.
pub mod exit {
    /// Everything written (or nothing to do).
    pub const OK: i32 = 0;
    /// Finished, but some records were quarantined.
    pub const QUARANTINED: i32 = 1;
    /// The config is wrong.
    pub const CONFIG: i32 = 2;
    /// A connector is unreachable or refused our credentials.
    pub const CONNECTOR: i32 = 3;
    /// Anything else (state file, unexpected answer).
    pub const OTHER: i32 = 4;
}

/// The exit code a flow's fatal error class maps to.
pub fn exit_for_class(class: &str) -> i32 {
    match class {
        "config" => exit::CONFIG,
        "auth" | "transient" | "rate_limited" => exit::CONNECTOR,
        _ => exit::OTHER,
    }
}

fn rank(code: i32) -> u8 {
    match code {
        exit::CONFIG => 4,
        exit::CONNECTOR => 3,
        exit::OTHER => 2,
        exit::QUARANTINED => 1,
        _ => 0,
    }
}

/// The more severe of two exit codes (config > connector > other > quarantined > ok).
pub fn worst(a: i32, b: i32) -> i32 {
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// The exit code for a set of reports.
pub fn exit_code(reports: &[RunReport]) -> i32 {
    let mut code = exit::OK;
    for f in reports.iter().flat_map(|r| &r.flows) {
        let c = match (&f.fatal_class, &f.fatal) {
            (Some(class), _) => exit_for_class(class),
            (None, Some(_)) => exit::OTHER,
            (None, None) if f.quarantined > 0 => exit::QUARANTINED,
            _ => exit::OK,
        };
        code = worst(code, c);
    }
    code
}

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        s.to_owned()
    } else {
        format!("{s}{}", " ".repeat(w - n))
    }
}

fn lpad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        s.to_owned()
    } else {
        format!("{}{s}", " ".repeat(w - n))
    }
}

/// A plain text table: first column left-aligned, the others right-aligned.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < 3 {
                    pad(c, widths[i])
                } else {
                    lpad(c, widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = String::new();
    out.push_str(&line(headers.iter().map(|h| h.to_string()).collect()));
    out.push('\n');
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push('\n');
    }
    out
}

/// The summary table printed after `run`, `retry` and the demo.
pub fn summary(reports: &[RunReport]) -> String {
    let mut rows = Vec::new();
    for r in reports {
        for f in &r.flows {
            rows.push(vec![
                r.pair.clone(),
                f.flow.to_string(),
                f.status.as_str().to_owned(),
                f.read.to_string(),
                f.created.to_string(),
                f.updated.to_string(),
                f.unchanged.to_string(),
                f.quarantined.to_string(),
                format!("{}/{}", f.requests.accounting, f.requests.shop),
                format!("{:.1}s", f.duration_ms as f64 / 1000.0),
            ]);
        }
    }
    let mut out = table(
        &[
            "pair",
            "flow",
            "status",
            "read",
            "created",
            "updated",
            "unchanged",
            "quarantined",
            "requests (acct/shop)",
            "time",
        ],
        &rows,
    );
    for r in reports {
        for f in &r.flows {
            if let Some(fatal) = &f.fatal {
                let _ = writeln!(out, "\n{}/{}: stopped: {fatal}", r.pair, f.flow);
                if let Some(hint) = f.fatal_class.as_deref().and_then(hint_for_class) {
                    let _ = writeln!(out, "  -> {hint}");
                }
            }
            for e in f.errors.iter().take(20) {
                let _ = writeln!(out, "{}/{}: {e}", r.pair, f.flow);
            }
            if f.errors.len() > 20 {
                let _ = writeln!(
                    out,
                    "{}/{}: ... and {} more (see `koppel status`)",
                    r.pair,
                    f.flow,
                    f.errors.len() - 20
                );
            }
        }
    }
    let q: u64 = reports.iter().map(|r| r.quarantined()).sum();
    if q > 0 {
        let _ = writeln!(
            out,
            "\n{q} record(s) quarantined: fix them at the source, or run `koppel retry` after fixing the cause."
        );
    }
    out
}

/// What to do about a fatal error of a class.
pub fn hint_for_class(class: &str) -> Option<&'static str> {
    match class {
        "auth" => Some("check the credentials and permissions in the config (see docs/troubleshooting.md)"),
        "transient" | "rate_limited" => {
            Some("the connector could not be reached or kept failing; check base_url, network and the service status, then run again")
        }
        "config" => Some("fix the setting named above and run `koppel validate`"),
        "conflict" => Some("another koppel process is running this pair; wait for it or stop it"),
        _ => None,
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => format!("{s:?}"),
        other => {
            let s = other.to_string();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(79).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn created_summary(after: &Value) -> String {
    let Value::Object(map) = after else {
        return String::new();
    };
    let mut parts = Vec::new();
    for key in [
        "name", "email", "quantity", "status", "total", "amount", "paid", "open",
    ] {
        if let Some(v) = map.get(key) {
            let shown = match v {
                Value::Object(o) => o.get("amount").map(short).unwrap_or_else(|| short(v)),
                _ => short(v),
            };
            parts.push(format!("{key}={shown}"));
        }
    }
    if let Some(Value::Object(p)) = map.get("price") {
        if let Some(a) = p.get("amount") {
            parts.push(format!("price={}", short(a)));
        }
    }
    if let Some(Value::Array(lines)) = map.get("lines") {
        parts.push(format!("{} lines", lines.len()));
    }
    parts.join(", ")
}

/// The lines of one planned change (`+ create`, `~ update` with its fields, `! quarantine`;
/// `= unchanged` only when `all`).
pub fn change_line(c: &PlannedChange, all: bool) -> String {
    let mut out = String::new();
    let out = &mut out;
    match c.action {
        ChangeAction::Create => {
            let s = c.after.as_ref().map(created_summary).unwrap_or_default();
            let _ = writeln!(
                out,
                "  + create {}{}",
                c.label,
                if s.is_empty() {
                    String::new()
                } else {
                    format!(" ({s})")
                }
            );
        }
        ChangeAction::Update => {
            let id = c
                .target_id
                .as_deref()
                .map(|t| format!(" [{t}]"))
                .unwrap_or_default();
            let _ = writeln!(out, "  ~ update {}{id}", c.label);
            for f in &c.changes {
                let _ = writeln!(
                    out,
                    "      {}: {} -> {}",
                    f.path,
                    short(&f.before),
                    short(&f.after)
                );
            }
        }
        ChangeAction::Quarantine => {
            let _ = writeln!(
                out,
                "  ! quarantine {}: {}",
                c.label,
                c.reason.as_deref().unwrap_or("rejected")
            );
        }
        ChangeAction::Unchanged => {
            if all {
                let _ = writeln!(out, "  = unchanged {}", c.label);
            }
        }
        ChangeAction::Skip => {
            let _ = writeln!(
                out,
                "  - skip {}: {}",
                c.label,
                c.reason.as_deref().unwrap_or("not written")
            );
        }
    }
    out.clone()
}

fn flow_plan(pair: &str, f: &FlowReport, all: bool, out: &mut String) {
    let deps = if f.dependencies_created > 0 {
        format!(", {} customer(s) to create first", f.dependencies_created)
    } else {
        String::new()
    };
    let deps = if f.skipped > 0 {
        format!("{deps}, {} to skip (cancelled before export)", f.skipped)
    } else {
        deps
    };
    let _ = writeln!(
        out,
        "{pair}/{}: {} to create, {} to update, {} unchanged, {} to quarantine (read {}){deps}",
        f.flow, f.created, f.updated, f.unchanged, f.quarantined, f.read
    );
    if let Some(fatal) = &f.fatal {
        let _ = writeln!(out, "  stopped: {fatal}");
        if let Some(hint) = f.fatal_class.as_deref().and_then(hint_for_class) {
            let _ = writeln!(out, "  -> {hint}");
        }
    }
    for c in &f.records {
        out.push_str(&change_line(c, all));
    }
    if f.records_omitted > 0 {
        let _ = writeln!(
            out,
            "  ... and {} more (not listed; raise --limit to see them)",
            f.records_omitted
        );
    }
}

/// The readable plan of one or more pairs.
pub fn plan(reports: &[RunReport], all: bool) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.flows {
            flow_plan(&r.pair, f, all, &mut out);
            out.push('\n');
        }
    }
    let (c, u, q): (u64, u64, u64) = reports
        .iter()
        .flat_map(|r| &r.flows)
        .fold((0, 0, 0), |(c, u, q), f| {
            (c + f.created, u + f.updated, q + f.quarantined)
        });
    let _ = writeln!(
        out,
        "Plan: {c} to create, {u} to update, {q} to quarantine. Nothing was written; `koppel run` applies it."
    );
    out
}
