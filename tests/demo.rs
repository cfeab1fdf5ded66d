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
