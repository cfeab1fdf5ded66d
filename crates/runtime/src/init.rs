//! `koppel init`: a commented starting config built from the connectors' example configs.

use std::fmt::Write as _;

use koppel_core::registry::{self, ConnectorDescriptor, Role};

use std::path::Path;

use crate::flows::{possible, Flow, FlowOptions};
use crate::report::exit;
use crate::run::{CmdResult, Failure};

/// Rewrites an example's table headers (`[orders]`) so they sit under `[pairs.<side>]`.
pub fn nest_headers(example: &str, side: &str) -> String {
    let mut out = String::new();
    for line in example.lines() {
        let trimmed = line.trim_start();
        let (comment, rest) = match trimmed.strip_prefix('#') {
            Some(r) => ("# ", r.trim_start()),
            None => ("", trimmed),
        };
        let rewritten = if let Some(inner) = rest.strip_prefix("[[").and_then(|r| r.split_once("]]")) {
            (!inner.0.trim().starts_with("pairs."))
                .then(|| format!("{comment}[[pairs.{side}.{}]]{}", inner.0.trim(), inner.1))
        } else if let Some(inner) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            let name = inner.0.trim();
            (!name.starts_with("pairs.") && !name.is_empty() && !name.contains(' ') && !name.contains('"'))
                .then(|| format!("{comment}[pairs.{side}.{name}]{}", inner.1))
        } else {
            None
        };
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// A descriptor's example config without its own `type = ...` line (the caller writes it).
pub fn example_body(d: &ConnectorDescriptor) -> String {
    let mut in_root = true;
    let mut out = String::new();
    for line in (d.example_config)().lines() {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_root = false;
        }
        if in_root && t.starts_with("type") && t[4..].trim_start().starts_with('=') {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn default_schedule(flow: Flow) -> &'static str {
    match flow {
        Flow::Products => "1h",
        Flow::Stock => "15m",
        Flow::Customers => "15m",
        Flow::Orders => "*/5 * * * *",
        Flow::OpenAmounts => "0 7,19 * * *",
        Flow::Payments => "30m",
    }
}

/// The starting config for an accounting and a shop connector.
pub fn starting_config(accounting: &ConnectorDescriptor, shop: &ConnectorDescriptor) -> String {
    let mut out = String::new();
    out.push_str("# koppel configuration, written by `koppel init`.\n");
    out.push_str("# Reference: docs/configuration.md (`koppel schema` prints the JSON Schema).\n");
    out.push_str("# Check it with `koppel validate`, then `koppel check`, then `koppel plan`.\n");
    out.push_str("#\n# Secrets: never write them here. Use \"${ENV_VAR}\" in any string, or a key\n");
    out.push_str("# `<name>_file = \"path\"` that reads `<name>` from a file.\n\n");
    out.push_str("# The SQLite state file (relative to this file): bindings, cursors, journal,\n");
    out.push_str("# quarantine and run history. Keep it and back it up.\n");
    out.push_str("state = \"koppel.db\"\n");
    out.push_str("# Time zone of cron schedules and of times in `koppel status`.\n");
    out.push_str("timezone = \"Europe/Amsterdam\"\n\n");
    out.push_str("[[pairs]]\n# Unique name of this pair (used in the state file, logs and --pair).\nname = \"winkel\"\n\n");
    for (side, d) in [("accounting", accounting), ("shop", shop)] {
        let _ = writeln!(out, "# {}", d.description);
        let _ = writeln!(out, "[pairs.{side}]\ntype = \"{}\"", d.name);
        out.push_str(&nest_headers(example_body(d).trim(), side));
        out.push('\n');
    }
    out.push_str("# Flows: each table enables one. `schedule` is an interval (\"15m\") or a cron\n");
    out.push_str("# expression (\"0 7,19 * * *\") for `koppel daemon`; `koppel run` runs them all once.\n");
    for flow in Flow::all() {
        if possible(flow, accounting, shop, &FlowOptions::default()).is_err() {
            continue;
        }
        let _ = writeln!(
            out,
            "[pairs.flows.{flow}]\nschedule = \"{}\"",
            default_schedule(flow)
        );
        if flow == Flow::Orders {
            out.push_str("# Create buyers that are not in SnelStart yet (matched by e-mail, then VAT/KvK number first).\n");
            out.push_str("create_customers = true\n");
        }
        out.push('\n');
    }
    out
}

/// What `koppel init` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitArgs {
    /// The shop connector; `None`: the first shop connector by name.
    pub shop: Option<String>,
    /// Where to write it (`None`: the config path); `-` prints it.
    pub output: Option<std::path::PathBuf>,
    /// Overwrite an existing file.
    pub force: bool,
}

/// `koppel init`: writes a starting config to `args.output`, or else to `config`.
pub fn init(config: &Path, args: &InitArgs) -> CmdResult {
    let accounting = registry::connectors()
        .into_iter()
        .find(|d| d.role == Role::Accounting)
        .ok_or_else(|| Failure::Other("no accounting connector is linked into this koppel".into()))?;
    let shops: Vec<_> = registry::connectors()
        .into_iter()
        .filter(|d| d.role == Role::Shop)
        .collect();
    let found = match args.shop.as_deref() {
        Some(name) => shops.iter().find(|d| d.name == name),
        None => shops.first(),
    };
    let Some(shop) = found else {
        return Err(Failure::Other(format!(
            "unknown shop connector {:?}; this koppel knows: {}",
            args.shop.as_deref().unwrap_or(""),
            shops.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
        )));
    };
    let text = starting_config(accounting, shop);
    let target = args.output.clone().unwrap_or_else(|| config.to_path_buf());
    if target.as_os_str() == "-" {
        print!("{text}");
        return Ok(exit::OK);
    }
    if target.exists() && !args.force {
        return Err(Failure::Other(format!(
            "{} exists; pass --force to overwrite it, or --output another file",
            target.display()
        )));
    }
    std::fs::write(&target, text)
        .map_err(|e| Failure::Other(format!("cannot write {}: {e}", target.display())))?;
    println!("wrote {}", target.display());
    println!("next: set the environment variables it names, then `koppel validate` and `koppel check`.");
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_nested_under_the_side() {
        let ex = "base_url = \"x\"\n[orders]\nshipping_article = \"V\"\n# [stock]\n[pairs.shop.x]\n";
        let out = nest_headers(ex, "accounting");
        assert!(out.contains("[pairs.accounting.orders]"), "{out}");
        assert!(out.contains("# [pairs.accounting.stock]"), "{out}");
        assert!(out.contains("[pairs.shop.x]"), "{out}");
        assert!(out.contains("base_url = \"x\""), "{out}");
    }
}
