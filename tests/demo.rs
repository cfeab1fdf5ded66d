//! `koppel demo` runs the whole job against in-process simulators, with no account and no
//! network.

mod common;

#[test]
fn demo_runs_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(dir.path(), &["demo", "--articles", "40", "--orders", "12"]);
    let t = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    for step in [
        "== 1. plan",
        "== 2. run every flow",
        "== 3. in SnelStart",
        "== 4. run open_amounts",
        "== 5. run everything again",
        "== what happened",
    ] {
        assert!(t.contains(step), "missing {step:?} in:\n{t}");
    }
    assert!(t.contains("paid in full"), "{t}");
    assert!(t.contains("requests: SnelStart"), "{t}");
}

/// `--shop all` runs the whole demo once per registered shop simulator; every one must get
/// through every step.
#[test]
fn demo_runs_for_every_shop_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(
        dir.path(),
        &["demo", "--shop", "all", "--articles", "20", "--orders", "6"],
    );
    let t = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let shops = common::shop_simulators();
    assert!(!shops.is_empty());
    for shop in &shops {
        let banner = format!("a SnelStart administration and a {shop} shop");
        assert!(t.contains(&banner), "missing {banner:?} in:\n{t}");
    }
    assert_eq!(t.matches("== what happened ==").count(), shops.len(), "{t}");
    assert_eq!(t.matches("requests: SnelStart").count(), shops.len(), "{t}");
}

/// `--shop <name>:<variant>` runs the demo against that variant (PrestaShop 1.7: full PUT, no
/// PATCH) through every step; an unknown variant is refused with the known ones.
#[test]
fn demo_runs_for_a_chosen_simulator_variant() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(
        dir.path(),
        &[
            "demo",
            "--shop",
            "prestashop:1.7",
            "--articles",
            "20",
            "--orders",
            "6",
        ],
    );
    let t = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("a SnelStart administration and a prestashop:1.7 shop"),
        "{t}"
    );
    assert_eq!(t.matches("== what happened ==").count(), 1, "{t}");

    let out = common::run(dir.path(), &["demo", "--shop", "prestashop:1.6"]);
    let t = common::text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("known: 8, 1.7"), "{t}");
}
