//! The whole path a new user takes, against the simulators (`koppel sandbox` as a child
//! process): init -> validate -> check -> plan -> run -> status, and the exit codes.

mod common;

use common::{run, text, Sandbox};

#[test]
fn init_writes_a_config_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = std::fs::read_to_string(dir.path().join("koppel.toml")).unwrap();
    assert!(written.contains("type = \"snelstart\"") && written.contains("type = \"magento\""));
    assert!(written.contains("[pairs.flows.orders]"), "{written}");

    // Not overwritten without --force.
    let again = run(dir.path(), &["init"]);
    assert_ne!(again.status.code(), Some(0));
    assert!(text(&again).contains("--force"), "{}", text(&again));

    // Its secrets come from the environment: without them, validate names the variable.
    let missing = common::koppel()
        .current_dir(dir.path())
        .env_remove("SNELSTART_CLIENT_KEY")
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(
        text(&missing).contains("SNELSTART_CLIENT_KEY"),
        "{}",
        text(&missing)
    );

    let mut cmd = common::koppel();
    cmd.current_dir(dir.path()).arg("validate");
    for var in [
        "SNELSTART_CLIENT_KEY",
        "SNELSTART_SUBSCRIPTION_KEY",
        "MAGENTO_CONSUMER_KEY",
        "MAGENTO_CONSUMER_SECRET",
        "MAGENTO_ACCESS_TOKEN",
        "MAGENTO_ACCESS_TOKEN_SECRET",
    ] {
        cmd.env(var, format!("value-of-{var}"));
    }
    let ok = cmd.output().unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(!text(&ok).contains("value-of-"), "secret printed: {}", text(&ok));
}

#[test]
fn check_plan_run_status_against_the_simulators() {
    let dir = tempfile::tempdir().unwrap();
    let _sb = Sandbox::start(dir.path(), &[]);
    let d = dir.path();

    let out = run(d, &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = run(d, &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("sandbox/accounting (snelstart): ok"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("sandbox/shop (magento): ok"),
        "{}",
        text(&out)
    );

    // The plan shows what would be created, and what would be updated against what the shop
    // holds now (its first products are already there, one at an older price); nothing is
    // written.
    let out = run(d, &["--flow", "products,stock", "plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan = text(&out);
    assert!(plan.contains("+ create product KP-0004"), "{plan}");
    assert!(plan.contains("~ update product KP-0002"), "{plan}");
    assert!(plan.contains("      price: \"175.8\" -> \"174.80\""), "{plan}");
    assert!(plan.contains("Nothing was written"), "{plan}");
    let out = run(d, &["--flow", "products", "plan", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // every seeded article is planned: created, or updated/unchanged where the shop has it
    let f = &json[0]["flows"][0];
    let planned: u64 = ["created", "updated", "unchanged"]
        .iter()
        .map(|k| f[*k].as_u64().unwrap())
        .sum();
    assert!(planned >= 30 && f["created"].as_u64().unwrap() > 0, "{json}");

    // Run: products and stock write cleanly -> exit 0.
    let out = run(d, &["--flow", "products,stock", "run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("products"), "{}", text(&out));

    // Planned again, nothing is left to create.
    let out = run(d, &["--flow", "products", "plan", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["flows"][0]["created"], 0, "{json}");

    // Orders: the simulated shop has broken orders on purpose -> quarantined -> exit 1.
    let out = run(d, &["--flow", "orders", "run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("quarantined"), "{}", text(&out));

    // Status shows the runs and the quarantine; the HTML page is self-contained.
    let out = run(d, &["status", "--html", "status.html"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = text(&out);
    assert!(s.contains("products") && s.contains("quarantine ("), "{s}");
    let html = std::fs::read_to_string(d.join("status.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("<style>"), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("<link") && !html.contains("src="),
        "external asset"
    );

    // Retry runs the quarantined records again (they are still broken).
    let out = run(d, &["retry"]);
    assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", text(&out));
}

#[test]
fn unauthorised_connector_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(dir.path(), &[]);
    let config = std::fs::read_to_string(&sb.config).unwrap();
    let wrong = config.replace(
        koppel_sandbox::snelstart::SUBSCRIPTION_KEY,
        "wrong-subscription-key-0000",
    );
    assert_ne!(wrong, config);
    std::fs::write(dir.path().join("wrong.toml"), wrong).unwrap();

    let out = run(dir.path(), &["--config", "wrong.toml", "check"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("FAILED"), "{}", text(&out));
    assert!(
        !text(&out).contains("wrong-subscription-key-0000"),
        "secret printed: {}",
        text(&out)
    );

    let out = run(
        dir.path(),
        &["--config", "wrong.toml", "--flow", "products", "run"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn check_names_a_missing_service_article_by_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(dir.path(), &[]);
    let config = std::fs::read_to_string(&sb.config).unwrap();
    let wrong = config.replace(
        "shipping_article = \"VERZEND\"",
        "shipping_article = \"VERZEND-X\"",
    );
    assert_ne!(wrong, config);
    std::fs::write(dir.path().join("wrong.toml"), wrong).unwrap();
    let out = run(dir.path(), &["--config", "wrong.toml", "check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out)
            .contains("pairs[0].accounting.orders.shipping_article: no article \"VERZEND-X\" in SnelStart"),
        "{}",
        text(&out)
    );
}

#[test]
fn unreachable_connector_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(dir.path(), &[]);
    let config = std::fs::read_to_string(&sb.config).unwrap();
    // Point the shop at a port nothing listens on. The port stays bound (never listening) for
    // the whole test, so a simulator started in parallel cannot be given it (a port freed
    // before `check` could be, and then `check` reached that simulator); a connection to a
    // bound port without a listener is refused.
    let holder = tokio::net::TcpSocket::new_v4().unwrap();
    holder.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let dead = holder.local_addr().unwrap();
    let shop_line = config
        .lines()
        .find(|l| l.starts_with("base_url = "))
        .unwrap()
        .to_owned();
    let broken = config.replace(&shop_line, &format!("base_url = \"http://{dead}\""));
    std::fs::write(dir.path().join("dead.toml"), broken).unwrap();
    let out = run(dir.path(), &["--config", "dead.toml", "check"]);
    drop(holder);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn config_error_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("koppel.toml"), "[[pairs]]\nname = \"x\"\n").unwrap();
    let out = run(dir.path(), &["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("koppel.toml:1: pairs[0]"), "{}", text(&out));
}

/// Every shop with a registered simulator (`koppel connectors --json`), and each of its
/// non-default variants (`prestashop:1.7`): `koppel sandbox --shop <name>[:<variant>]@...`
/// serves it with a config koppel validates, checks, plans and runs, and a second run writes
/// nothing twice.
#[test]
fn every_shop_simulator_syncs_end_to_end() {
    let runs = common::shop_simulator_runs();
    assert!(
        runs.len() > common::shop_simulators().len(),
        "no simulator declares a variant, so none runs through the binary: {runs:?}"
    );
    for spec in runs {
        let dir = tempfile::tempdir().unwrap();
        let _sb = Sandbox::start_shop(dir.path(), &spec, &[]);
        let d = dir.path();
        // `prestashop:1.7`: the connector type is the part before the variant.
        let shop = spec.split(':').next().unwrap().to_owned();
        let ctx = |out: &std::process::Output| format!("shop {spec}:\n{}", text(out));

        let out = run(d, &["validate"]);
        assert_eq!(out.status.code(), Some(0), "{}", ctx(&out));
        let out = run(d, &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}", ctx(&out));
        assert!(
            text(&out).contains(&format!("sandbox/shop ({shop}): ok")),
            "{}",
            ctx(&out)
        );

        // The plan covers the 30 seeded articles: new to the shop, or (where the shop's
        // simulator is seeded with the same catalogue) already there.
        let out = run(d, &["--flow", "products", "plan", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", ctx(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = &json[0]["flows"][0];
        let planned: u64 = ["created", "updated", "unchanged"]
            .iter()
            .map(|k| f[*k].as_u64().unwrap())
            .sum();
        assert!(planned >= 30, "{spec}: {json}");

        // Every flow the generated config enables: clean, or some records quarantined.
        let out = run(d, &["run", "--json"]);
        assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", ctx(&out));
        let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // every seeded article reached the shop: created, or found there already
        let done: u64 = first[0]["flows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                ["created", "updated", "unchanged"]
                    .iter()
                    .map(|k| f[*k].as_u64().unwrap())
                    .sum::<u64>()
            })
            .sum();
        assert!(done >= 30, "{spec}: {first}");

        // Nothing twice: a second run of every enabled flow creates nothing again.
        let out = run(d, &["run", "--json"]);
        assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", ctx(&out));
        let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for f in again[0]["flows"].as_array().unwrap() {
            assert_eq!(f["created"], 0, "{spec}: {again}");
        }
    }
}

/// `--shop prestashop:1.7@...` starts the 1.7 simulator: the connector, left on
/// `version = "auto"`, sees 1.7 and updates with a complete PUT; the default is 8.x; an
/// unknown variant is refused with the known ones.
#[test]
fn sandbox_serves_the_chosen_prestashop_variant() {
    for (spec, expect) in [
        ("prestashop:1.7", "1.7: updates with a complete PUT"),
        ("prestashop", "8.x: updates with PATCH"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let _sb = Sandbox::start_shop(dir.path(), spec, &[]);
        let out = run(dir.path(), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{spec}: {}", text(&out));
        assert!(text(&out).contains(expect), "{spec}: {}", text(&out));
    }

    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "sandbox",
            "--snelstart",
            "127.0.0.1:0",
            "--shop",
            "prestashop:1.6@127.0.0.1:0",
        ],
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("no variant \"1.6\"; known: 8, 1.7"),
        "{}",
        text(&out)
    );

    // and `--help` says how to choose one
    let out = run(dir.path(), &["sandbox", "--help"]);
    assert!(
        text(&out).contains("`<type>[:<variant>]@<address>`"),
        "{}",
        text(&out)
    );
}
