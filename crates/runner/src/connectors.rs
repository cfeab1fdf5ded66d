//! `koppel connectors`: the linked connectors, their capabilities and whether a simulator is
//! registered for them, as a table or JSON.

use koppel_core::registry::{self, Role};
use koppel_core::Kind;
use koppel_runtime::run::{CmdResult, Failure};

use crate::cli::ConnectorsArgs;
use crate::report::exit;

fn kinds(ks: &[Kind]) -> String {
    if ks.is_empty() {
        "-".into()
    } else {
        ks.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// Prints the linked connectors.
pub fn connectors(args: &ConnectorsArgs) -> CmdResult {
    let all = registry::connectors();
    if args.json {
        let v: Vec<_> = all
            .iter()
            .map(|d| {
                let sim = koppel_sandbox::registry::find_shop(d.name);
                serde_json::json!({
                    "name": d.name,
                    "role": d.role,
                    "reads": d.capabilities.sources,
                    "writes": d.capabilities.sinks,
                    "description": d.description,
                    // A simulator is registered for it (`koppel demo --shop`, `koppel sandbox`).
                    "simulator": sim.is_some(),
                    // The releases it can simulate (`--shop <name>:<variant>`), default first.
                    "simulator_variants": sim.map(|s| s.variants).unwrap_or_default(),
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
