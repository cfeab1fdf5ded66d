//! `docs/configuration.md` is generated from the config schema; this fails when the committed
//! file is stale. Regenerate: `cargo run -p koppel -- docs config > docs/configuration.md`.

mod common;

#[test]
fn configuration_reference_is_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(dir.path(), &["docs", "config"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/configuration.md is stale; run `cargo run -p koppel -- docs config > docs/configuration.md`"
    );
}

#[test]
fn schema_is_json_with_both_connector_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(dir.path(), &["schema"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let shop = &v["$defs"]["ShopTable"]["oneOf"];
    assert_eq!(shop[0]["properties"]["type"]["const"], "magento", "{shop}");
    let acct = &v["$defs"]["AccountingTable"]["oneOf"];
    assert_eq!(acct[0]["properties"]["type"]["const"], "snelstart", "{acct}");
    // Every $ref resolves.
    let text = String::from_utf8_lossy(&out.stdout);
    for r in text.split("\"$ref\": \"#/$defs/").skip(1) {
        let name = &r[..r.find('"').unwrap()];
        assert!(v["$defs"].get(name).is_some(), "dangling $ref {name}");
    }
}
