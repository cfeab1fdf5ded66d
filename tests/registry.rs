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
    // The one list: crates/connectors/Cargo.toml.
    assert_eq!(names, koppel::LINKED_CONNECTORS);
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

#[test]
fn every_shop_simulator_simulates_a_linked_shop_connector() {
    let sims = koppel_sandbox::registry::shops();
    assert!(!sims.is_empty(), "no shop simulator registered");
    for s in sims {
        let d = koppel_core::registry::find(s.name)
            .unwrap_or_else(|| panic!("simulator {:?} has no linked connector", s.name));
        assert_eq!(d.role, koppel_core::registry::Role::Shop, "{}", s.name);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(dir.path(), &["connectors", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut with_sim: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["simulator"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    with_sim.sort();
    let registered: Vec<&str> = koppel_sandbox::registry::shops().iter().map(|s| s.name).collect();
    assert_eq!(with_sim, registered);
}
