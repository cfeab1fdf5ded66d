//! Reads the one list of linked connectors (this crate's `[dependencies]`, see Cargo.toml) and
//! writes `linked.rs`: an `extern crate` per connector crate (so the linker keeps its registry
//! entry) and `LINKED_CONNECTORS`, the connector names (`koppel-<name>` registers `<name>`).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let path = manifest.join("Cargo.toml");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).expect("read Cargo.toml");
    let doc: toml::Table = text.parse().expect("parse Cargo.toml");
    let deps = doc
        .get("dependencies")
        .and_then(|d| d.as_table())
        .expect("[dependencies] in crates/connectors/Cargo.toml");
    let mut crates: Vec<&str> = deps.keys().map(String::as_str).collect();
    crates.sort_unstable();
    let mut names = Vec::new();
    let mut out = String::new();
    for c in &crates {
        let Some(name) = c.strip_prefix("koppel-") else {
            panic!(
                "crates/connectors/Cargo.toml: dependency {c:?} is not a connector crate \
                 (connector crates are named koppel-<connector name>); only connectors go here"
            );
        };
        let name = name.replace('-', "_");
        let _ = writeln!(out, "extern crate koppel_{name};");
        names.push(name);
    }
    names.sort_unstable();
    let _ = writeln!(
        out,
        "/// The connector names linked into this build, sorted: one per `koppel-<name>` line of\n\
         /// crates/connectors/Cargo.toml.\npub const LINKED_CONNECTORS: &[&str] = &[{}];",
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out_dir.join("linked.rs"), out).expect("write linked.rs");
}
