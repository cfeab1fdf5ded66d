//! `koppel status`: last runs per pair and flow, failures, quarantine and the next scheduled
//! run; `--html FILE` writes a self-contained page with an inline SVG chart.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use koppel_core::engine::Flow;
use koppel_core::state::{QuarantineEntry, RunRecord};
use serde::Serialize;

use crate::config::FlowSpec;
use crate::report::{exit, table};
use crate::run::{load, open_store, CmdResult, Failure, Selection};
use crate::schedule::Schedule;

/// The status of one flow of one pair.
#[derive(Debug, Clone, Serialize)]
pub struct FlowStatus {
    /// The pair.
    pub pair: String,
    /// The flow.
    pub flow: Flow,
    /// The schedule, as text (`every 15m`, `cron "0 7 * * *"`, `manual`).
    pub schedule: String,
    /// Recent runs, newest first.
    pub runs: Vec<RunRecord>,
    /// Runs among them that failed.
    pub failures: usize,
    /// Records of this flow in quarantine.
    pub quarantined: usize,
    /// When the daemon runs it next (if scheduled).
    pub next_run: Option<DateTime<Utc>>,
}

/// Everything `status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// The time zone of the config.
    pub timezone: String,
    /// Per pair and flow.
    pub flows: Vec<FlowStatus>,
    /// The quarantined records, oldest first.
    pub quarantine: Vec<QuarantineEntry>,
}

/// When a flow runs next, given its last run.
pub fn next_run(
    schedule: Option<&Schedule>,
    last: Option<&RunRecord>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Option<DateTime<Utc>> {
    let s = schedule?;
    match s {
        Schedule::Every(_) => match last {
            Some(r) => s.next_after(r.finished_at, tz).map(|t| t.max(now)),
            None => Some(now),
        },
        Schedule::Cron { .. } => s.next_after(now, tz),
    }
}

fn schedule_text(f: &FlowSpec) -> String {
    f.schedule
        .as_ref()
        .map(|s| s.to_string())
        .unwrap_or_else(|| "manual".into())
}

/// What `koppel status` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusArgs {
    /// Also write the self-contained HTML page to this file.
    pub html: Option<std::path::PathBuf>,
    /// Print as JSON.
    pub json: bool,
    /// How many recent runs to consider per pair and flow.
    pub runs: usize,
}

/// `koppel status`.
pub async fn status(g: &Selection, args: &StatusArgs) -> CmdResult {
    let config = load(g)?;
    let store = open_store(&config)?;
    let now = Utc::now();
    let mut flows = Vec::new();
    let mut quarantine = Vec::new();
    for pair in config.select_pairs(g.pair.as_deref())? {
        let q = store
            .quarantined(&pair.name, None)
            .await
            .map_err(|e| Failure::Other(format!("reading the state file: {e}")))?;
        for f in &pair.flows {
            if !g.flows.is_empty() && !g.flows.contains(&f.flow) {
                continue;
            }
            let runs = store
                .recent_runs(&pair.name, Some(f.flow), args.runs)
                .await
                .map_err(|e| Failure::Other(format!("reading the state file: {e}")))?;
            flows.push(FlowStatus {
                pair: pair.name.clone(),
                flow: f.flow,
                schedule: schedule_text(f),
                failures: runs.iter().filter(|r| r.status == "failed").count(),
                quarantined: q.iter().filter(|e| e.flow == f.flow).count(),
                next_run: next_run(f.schedule.as_ref(), runs.first(), now, config.timezone),
                runs,
            });
        }
        quarantine.extend(q);
    }
    let report = StatusReport {
        at: now,
        timezone: config.timezone.to_string(),
        flows,
        quarantine,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Failure::Other(e.to_string()))?
        );
    } else {
        print!("{}", crate::logging::redact(&text(&report, config.timezone)));
    }
    if let Some(path) = &args.html {
        std::fs::write(path, crate::logging::redact(&html(&report, config.timezone)))
            .map_err(|e| Failure::Other(format!("cannot write {}: {e}", path.display())))?;
        println!("wrote {}", path.display());
    }
    Ok(exit::OK)
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A table cell with a short time (`28 Nov 19:50`) and the full one as its tooltip.
fn time_cell(t: DateTime<Utc>, tz: Tz) -> String {
    let l = t.with_timezone(&tz);
    format!(
        "<span title=\"{}\">{}</span>",
        esc(&l.format("%Y-%m-%d %H:%M:%S %Z").to_string()),
        esc(&l.format("%-d %b %H:%M").to_string())
    )
}

/// The status as text.
pub fn text(r: &StatusReport, tz: Tz) -> String {
    let rows: Vec<Vec<String>> = r
        .flows
        .iter()
        .map(|f| {
            let last = f.runs.first();
            vec![
                f.pair.clone(),
                f.flow.to_string(),
                last.map(|l| l.status.clone())
                    .unwrap_or_else(|| "never run".into()),
                last.map(|l| local(l.finished_at, tz))
                    .unwrap_or_else(|| "-".into()),
                last.map(|l| format!("{}/{}/{}/{}", l.created, l.updated, l.unchanged, l.quarantined))
                    .unwrap_or_else(|| "-".into()),
                format!("{}/{}", f.failures, f.runs.len()),
                f.quarantined.to_string(),
                f.next_run
                    .map(|t| local(t, tz))
                    .unwrap_or_else(|| f.schedule.clone()),
            ]
        })
        .collect();
    let mut out = format!("times in {}\n", r.timezone);
    out.push_str(&table(
        &[
            "pair",
            "flow",
            "last",
            "finished",
            "created/updated/unchanged/quarantined",
            "failed/runs",
            "in quarantine",
            "next run",
        ],
        &rows,
    ));
    for f in &r.flows {
        if let Some(err) = f.runs.iter().find_map(|run| run.error.as_ref()) {
            let _ = writeln!(out, "{}/{}: last error: {err}", f.pair, f.flow);
        }
    }
    let changed: Vec<&QuarantineEntry> = r
        .quarantine
        .iter()
        .filter(|q| is_changed_after_export(q))
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(out, "\nchanged after export ({}):", changed.len());
        for q in changed.iter().take(50) {
            let _ = writeln!(out, "  {}/{} {}: {}", q.pair, q.flow, q.label, q.reason);
        }
        if changed.len() > 50 {
            let _ = writeln!(
                out,
                "  ... and {} more (`koppel status --json`)",
                changed.len() - 50
            );
        }
        out.push_str(
            "correct these in SnelStart by hand (they are released once SnelStart matches), or set \
             orders.changed_after_export = \"update\" and `koppel retry`.\n",
        );
    }
    let parked: Vec<&QuarantineEntry> = r
        .quarantine
        .iter()
        .filter(|q| !is_changed_after_export(q))
        .collect();
    if !parked.is_empty() {
        let _ = writeln!(out, "\nquarantine ({}):", parked.len());
        for q in parked.iter().take(50) {
            let _ = writeln!(
                out,
                "  {}/{} {}: {}{} (tried {}x, next {})",
                q.pair,
                q.flow,
                q.label,
                q.field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default(),
                q.reason,
                q.attempts,
                local(q.next_attempt, tz)
            );
        }
        if parked.len() > 50 {
            let _ = writeln!(
                out,
                "  ... and {} more (`koppel status --json`)",
                parked.len() - 50
            );
        }
        out.push_str("retry now with `koppel retry` (or `koppel retry --key KEY`).\n");
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const COLORS: [&str; 6] = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777"];

/// An inline SVG chart of records read per run over time, one line per flow.
pub fn chart(flows: &[&FlowStatus]) -> String {
    let (w, h, left, bottom, top, right) = (720.0, 240.0, 48.0, 28.0, 12.0, 12.0);
    let points: Vec<(i64, u64)> = flows
        .iter()
        .flat_map(|f| f.runs.iter().map(|r| (r.finished_at.timestamp(), r.read)))
        .collect();
    if points.is_empty() {
        return "<p class=\"muted\">No runs yet.</p>".into();
    }
    let tmin = points.iter().map(|p| p.0).min().unwrap_or(0);
    let tmax = points.iter().map(|p| p.0).max().unwrap_or(0).max(tmin + 1);
    let ymax = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let x = |t: i64| left + (t - tmin) as f64 / (tmax - tmin) as f64 * (w - left - right);
    let y = |v: u64| h - bottom - v as f64 / ymax * (h - bottom - top);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"records per run\">"
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" class=\"axis\"/><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{b}\" class=\"axis\"/>",
        b = h - bottom,
        r = w - right
    );
    let _ = write!(
        svg,
        "<text x=\"{tx}\" y=\"{ty}\" class=\"lbl\" text-anchor=\"end\">{ymax}</text><text x=\"{tx}\" y=\"{by}\" class=\"lbl\" text-anchor=\"end\">0</text>",
        tx = left - 6.0,
        ty = top + 10.0,
        by = h - bottom
    );
    for (i, f) in flows.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut runs: Vec<&RunRecord> = f.runs.iter().collect();
        runs.sort_by_key(|r| r.finished_at);
        let pts: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.1},{:.1}", x(r.finished_at.timestamp()), y(r.read)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        );
        for r in runs {
            let fill = if r.status == "failed" || r.quarantined > 0 {
                "#dc2626"
            } else {
                color
            };
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{fill}\"><title>{} {}: {} read, {} created, {} updated, {} quarantined ({})</title></circle>",
                x(r.finished_at.timestamp()),
                y(r.read),
                esc(&f.flow.to_string()),
                r.finished_at.format("%Y-%m-%d %H:%M:%S UTC"),
                r.read,
                r.created,
                r.updated,
                r.quarantined,
                esc(&r.status)
            );
        }
        let _ = write!(
            svg,
            "<rect x=\"{lx}\" y=\"{ly}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{tx}\" y=\"{ty}\" class=\"lbl\">{}</text>",
            esc(f.flow.as_str()),
            lx = left + 8.0 + i as f64 * 110.0,
            ly = h - 14.0,
            tx = left + 22.0 + i as f64 * 110.0,
            ty = h - 5.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The status as a self-contained HTML page (inline CSS and SVG, no external assets).
pub fn html(r: &StatusReport, tz: Tz) -> String {
    let mut out = String::new();
    out.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str("<title>koppel status</title><style>");
    out.push_str("body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1180px;color:#1f2937;padding:0 1rem}");
    out.push_str("h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0;display:block;overflow-x:auto;max-width:100%}");
    out.push_str(
        "th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e5e7eb}td{white-space:nowrap}th{background:#f9fafb;vertical-align:bottom}",
    );
    out.push_str("td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#16a34a}.partial{color:#d97706}.failed{color:#dc2626}.cancelled{color:#6b7280}");
    out.push_str(".muted{color:#6b7280}svg{width:100%;height:auto;background:#fff;border:1px solid #e5e7eb;border-radius:6px}.axis{stroke:#9ca3af}.lbl{font-size:11px;fill:#4b5563}");
    out.push_str("</style></head><body>");
    let _ = write!(
        out,
        "<h1>koppel status</h1><p class=\"muted\">Taken {} ({})</p>",
        esc(&local(r.at, tz)),
        esc(&r.timezone)
    );
    let mut pairs: Vec<&str> = r.flows.iter().map(|f| f.pair.as_str()).collect();
    pairs.dedup();
    for pair in pairs {
        let flows: Vec<&FlowStatus> = r.flows.iter().filter(|f| f.pair == pair).collect();
        let _ = write!(out, "<h2>Pair {}</h2>", esc(pair));
        out.push_str("<table><tr><th>flow</th><th>schedule</th><th>last run</th><th>status</th><th>read</th><th>created</th><th>updated</th><th>unchanged</th><th>quarantined</th><th>failed runs</th><th>in quarantine</th><th>next run</th></tr>");
        for f in &flows {
            let last = f.runs.first();
            let cell = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "–".into());
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{st}\">{st}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}/{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(f.flow.as_str()),
                esc(&f.schedule),
                last.map(|l| time_cell(l.finished_at, tz)).unwrap_or_else(|| "never".into()),
                cell(last.map(|l| l.read)),
                cell(last.map(|l| l.created)),
                cell(last.map(|l| l.updated)),
                cell(last.map(|l| l.unchanged)),
                cell(last.map(|l| l.quarantined)),
                f.failures,
                f.runs.len(),
                f.quarantined,
                f.next_run.map(|t| time_cell(t, tz)).unwrap_or_else(|| "–".into()),
                st = esc(last.map(|l| l.status.as_str()).unwrap_or("none")),
            );
        }
        out.push_str("</table><h2>Records read per run</h2>");
        out.push_str(&chart(&flows));
        let errors: Vec<String> = flows
            .iter()
            .flat_map(|f| {
                f.runs
                    .iter()
                    .filter_map(move |run| run.error.as_ref().map(|e| (f.flow, run.finished_at, e)))
            })
            .take(20)
            .map(|(flow, at, e)| {
                format!(
                    "<li>{} {}: {}</li>",
                    esc(&local(at, tz)),
                    esc(flow.as_str()),
                    esc(e)
                )
            })
            .collect();
        if !errors.is_empty() {
            let _ = write!(out, "<h2>Failures</h2><ul>{}</ul>", errors.join(""));
        }
    }
    let changed: Vec<&QuarantineEntry> = r
        .quarantine
        .iter()
        .filter(|q| is_changed_after_export(q))
        .collect();
    if !changed.is_empty() {
        let _ = write!(out, "<h2>Changed after export ({})</h2>", changed.len());
        out.push_str("<table><tr><th>pair</th><th>flow</th><th>record</th><th>what differs</th><th>first seen</th></tr>");
        for q in &changed {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&q.pair),
                esc(q.flow.as_str()),
                esc(&q.label),
                esc(&q.reason),
                esc(&local(q.first_at, tz))
            );
        }
        out.push_str("</table><p class=\"muted\">Correct these in SnelStart by hand (released once SnelStart matches), or set <code>orders.changed_after_export = \"update\"</code>.</p>");
    }
    let _ = write!(out, "<h2>Quarantine ({})</h2>", r.quarantine.len());
    if r.quarantine.is_empty() {
        out.push_str("<p class=\"muted\">Empty.</p>");
    } else {
        out.push_str("<table><tr><th>pair</th><th>flow</th><th>record</th><th>field</th><th>reason</th><th>tries</th><th>next try</th></tr>");
        for q in &r.quarantine {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&q.pair),
                esc(q.flow.as_str()),
                esc(&q.label),
                esc(q.field.as_deref().unwrap_or("")),
                esc(&q.reason),
                q.attempts,
                esc(&local(q.next_attempt, tz))
            );
        }
        out.push_str("</table><p class=\"muted\">Retry with <code>koppel retry</code>.</p>");
    }
    out.push_str("</body></html>\n");
    out
}

/// Whether a parked record is an order that changed after export (not a failed write).
fn is_changed_after_export(q: &QuarantineEntry) -> bool {
    q.error_class == koppel_core::connector::CHANGED_AFTER_EXPORT
}
