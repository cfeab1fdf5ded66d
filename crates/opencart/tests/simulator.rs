//! The connector's wire protocol against the bridge simulator (crates/sandbox/src/opencart,
//! written from bridge/PROTOCOL.md): a signature the simulator refuses.

use koppel_sandbox::opencart::{start, OpenCartOptions, SECRET};

/// The simulator refuses what the real bridge refuses (tests/bridge.rs): unsigned, forged,
/// stale and replayed requests get 401.
#[tokio::test]
async fn simulator_refuses_unsigned_forged_stale_and_replayed_requests() {
    use koppel_opencart::auth;
    let sim = start("127.0.0.1:0".parse().unwrap(), OpenCartOptions::default())
        .await
        .unwrap();
    let url = format!("{}/koppel-bridge.php?op=ping", sim.base_url());
    let http = reqwest::Client::new();
    let send = |secret: &str, ts: i64, nonce: String| {
        let sig = auth::sign(
            &koppel_core::Secret::new(secret),
            "POST",
            "/koppel-bridge.php?op=ping",
            ts,
            &nonce,
            b"{}",
        );
        http.post(&url)
            .header(auth::TIMESTAMP_HEADER, ts.to_string())
            .header(auth::NONCE_HEADER, nonce)
            .header(auth::SIGNATURE_HEADER, sig)
            .body("{}")
            .send()
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(http.post(&url).body("{}").send().await.unwrap().status(), 401);
    assert_eq!(
        send("forged-forged-forged-forged-forged-0", now, auth::nonce())
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        send(SECRET, now - 400, auth::nonce()).await.unwrap().status(),
        401
    );
    let n = auth::nonce();
    assert_eq!(send(SECRET, now, n.clone()).await.unwrap().status(), 200);
    assert_eq!(send(SECRET, now, n).await.unwrap().status(), 401);
}
