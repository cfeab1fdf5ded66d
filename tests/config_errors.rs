//! One config error per kind of mistake: `koppel validate` exits 2 and names the file, the
//! line and the key path.

mod common;

use std::path::Path;

const GOOD: &str = r#"state = "koppel.db"
timezone = "Europe/Amsterdam"

[[pairs]]
name = "winkel"

[pairs.accounting]
type = "snelstart"
client_key = "${KOPPEL_TEST_CLIENT_KEY}"
subscription_key_file = "subscription.key"

[pairs.shop]
type = "magento"
base_url = "https://shop.example.nl"
prices_include_tax = true

[pairs.shop.auth]
consumer_key = "${KOPPEL_TEST_SECRET}"
consumer_secret = "${KOPPEL_TEST_SECRET}"
access_token = "${KOPPEL_TEST_SECRET}"
access_token_secret = "${KOPPEL_TEST_SECRET}"

[pairs.flows.products]
schedule = "15m"

[pairs.flows.orders]
schedule = "*/15 * * * *"
create_customers = true
"#;

fn validate(dir: &Path, text: &str) -> (i32, String) {
    std::fs::write(dir.join("koppel.toml"), text).unwrap();
    std::fs::write(dir.join("subscription.key"), "sub-key-from-file-123\n").unwrap();
    let out = common::koppel()
        .current_dir(dir)
        .env("KOPPEL_TEST_CLIENT_KEY", "client-key-from-env-456")
        .env("KOPPEL_TEST_SECRET", "very-secret-value-789")
        .env_remove("KOPPEL_TEST_MISSING")
        .arg("validate")
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), common::text(&out))
}

fn expect_error(text: &str, line: usize, path: &str, words: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = validate(dir.path(), text);
    assert_eq!(code, 2, "exit code for {path}: {out}");
    let prefix = format!("koppel.toml:{line}: {path}");
    assert!(out.contains(&prefix), "expected {prefix:?} in:\n{out}");
    assert!(out.contains(words), "expected {words:?} in:\n{out}");
    for secret in [
        "client-key-from-env-456",
        "very-secret-value-789",
        "sub-key-from-file-123",
    ] {
        assert!(!out.contains(secret), "secret printed:\n{out}");
    }
}

#[test]
fn a_good_config_validates() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = validate(dir.path(), GOOD);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("koppel.toml: ok"), "{out}");
    assert!(out.contains("products: every 15m"), "{out}");
    assert!(!out.contains("very-secret-value-789"), "{out}");
}

#[test]
fn syntax_error() {
    let text = GOOD.replace("name = \"winkel\"", "name = \"winkel");
    expect_error(&text, 5, "TOML syntax error", "");
}

#[test]
fn unknown_key() {
    let text = GOOD.replace("name = \"winkel\"", "name = \"winkel\"\nnmae = \"typo\"");
    expect_error(&text, 6, "pairs[0].nmae", "unknown key");
}

#[test]
fn unknown_key_in_a_connector_table() {
    let text = GOOD.replace(
        "prices_include_tax = true",
        "prices_include_tax = true\nbase_ulr = \"x\"",
    );
    expect_error(&text, 16, "pairs[0].shop.base_ulr", "unknown key");
}

#[test]
fn a_removed_key_says_what_replaced_it() {
    let text = GOOD.replace(
        "prices_include_tax = true",
        "prices_include_tax = true\n\n[pairs.shop.products]\nconcurrency = 4",
    );
    expect_error(
        &text,
        18,
        "pairs[0].shop.products.concurrency",
        "[pairs.<name>.flows.products]",
    );
}

#[test]
fn wrong_type() {
    let text = GOOD.replace("prices_include_tax = true", "prices_include_tax = \"yes\"");
    expect_error(&text, 15, "pairs[0].shop.prices_include_tax", "invalid type");
}

#[test]
fn bad_url() {
    let text = GOOD.replace(
        "base_url = \"https://shop.example.nl\"",
        "base_url = \"shop dot nl\"",
    );
    expect_error(&text, 14, "pairs[0].shop.base_url", "URL");
}

#[test]
fn missing_environment_variable() {
    let text = GOOD.replace("${KOPPEL_TEST_CLIENT_KEY}", "${KOPPEL_TEST_MISSING}");
    expect_error(
        &text,
        9,
        "pairs[0].accounting.client_key",
        "KOPPEL_TEST_MISSING is not set",
    );
}

#[test]
fn missing_secret_file() {
    let text = GOOD.replace("subscription.key", "nowhere.key");
    expect_error(
        &text,
        10,
        "pairs[0].accounting.subscription_key_file",
        "cannot read secret file",
    );
}

#[test]
fn bad_schedule() {
    let text = GOOD.replace("schedule = \"15m\"", "schedule = \"every tuesday\"");
    expect_error(
        &text,
        24,
        "pairs[0].flows.products.schedule",
        "neither an interval",
    );
    let text = GOOD.replace("schedule = \"*/15 * * * *\"", "schedule = \"*/15 25 * * *\"");
    expect_error(&text, 27, "pairs[0].flows.orders.schedule", "cron expression");
}

#[test]
fn option_on_the_wrong_flow() {
    let text = GOOD.replace(
        "schedule = \"15m\"",
        "schedule = \"15m\"\ncreate_customers = false",
    );
    expect_error(
        &text,
        25,
        "pairs[0].flows.products.create_customers",
        "only applies to the orders flow",
    );
}

#[test]
fn unknown_connector_type() {
    let text = GOOD.replace("type = \"magento\"", "type = \"shopify\"");
    expect_error(
        &text,
        13,
        "pairs[0].shop.type",
        "unknown connector type \"shopify\"",
    );
}

#[test]
fn connector_on_the_wrong_side() {
    let text = GOOD.replace("type = \"snelstart\"", "type = \"magento\"");
    expect_error(
        &text,
        8,
        "pairs[0].accounting.type",
        "cannot be the accounting side",
    );
}

#[test]
fn unknown_time_zone() {
    let text = GOOD.replace("Europe/Amsterdam", "Europe/Utrecht");
    expect_error(&text, 2, "timezone", "not an IANA time zone");
}

#[test]
fn every_error_is_reported() {
    let text = GOOD
        .replace("schedule = \"15m\"", "schedule = \"soon\"")
        .replace("type = \"magento\"", "type = \"shopify\"");
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = validate(dir.path(), &text);
    assert_eq!(code, 2);
    assert!(out.contains("pairs[0].flows.products.schedule"), "{out}");
    assert!(out.contains("pairs[0].shop.type"), "{out}");
}

#[test]
fn missing_config_file_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::text(&out).contains("koppel init"),
        "{}",
        common::text(&out)
    );
}
