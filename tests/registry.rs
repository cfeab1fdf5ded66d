//! The registry of the built binary holds exactly the connectors the runner links. Run it in a
//! release build too: `cargo test --release -p koppel --test registry` (the linker may drop
//! registrations of crates that are never named).

mod common;

#[test]
fn registry_holds_exactly_the_linked_connectors() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(dir.path(), &["connectors", "--json"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["magento", "snelstart"]);
    let roles: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"accounting") && roles.contains(&"shop"),
        "{roles:?}"
    );
}

#[test]
fn registry_in_the_library_matches() {
    let names: Vec<&str> = koppel_core::registry::connectors()
        .iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, koppel::LINKED_CONNECTORS);
}
