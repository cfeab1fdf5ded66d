//! Tests of the HTTP policy against wiremock and a small in-process server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn fast_policy(max_retries: u32) -> HttpPolicy {
    HttpPolicy {
        timeout_secs: 5,
        connect_timeout_secs: 2,
        max_retries,
        initial_backoff_ms: 1,
        max_backoff_ms: 5,
        max_retry_after_secs: 5,
    }
}

fn client(max_retries: u32) -> HttpClient {
    HttpClient::builder("test")
        .policy(fast_policy(max_retries))
        .build()
        .unwrap()
}

fn get(c: &HttpClient, url: &str) -> reqwest::Request {
    c.reqwest().get(url).build().unwrap()
}

#[tokio::test]
async fn retries_a_503_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let c = client(4);
    let r = c
        .send(get(&c, &format!("{}/x", server.uri())), "/x", Safety::Idempotent)
        .await
        .unwrap();
    assert_eq!(r.text(), "ok");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    let s = c.stats();
    assert_eq!((s.total, s.retries), (3, 2));
    assert!(s.requests.iter().any(|r| r.status == 503 && r.count == 2));
}

#[tokio::test]
async fn honours_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let c = client(3);
    let started = Instant::now();
    c.send(get(&c, &server.uri()), "/", Safety::Idempotent)
        .await
        .unwrap();
    // the backoff alone would wait at most 5 ms: the 1 s wait can only come from Retry-After
    assert!(
        started.elapsed() >= Duration::from_millis(990),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn gives_up_after_its_budget_with_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("down for maintenance"))
        .mount(&server)
        .await;
    let c = client(2);
    let err = c
        .send(get(&c, &server.uri()), "/", Safety::Idempotent)
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert!(matches!(err, Error::Transient { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("gave up after 3 attempts") && msg.contains("503"),
        "{msg}"
    );
}

#[tokio::test]
async fn never_retries_a_400() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad field"))
        .mount(&server)
        .await;
    let c = client(4);
    let err = c
        .send(get(&c, &server.uri()), "/", Safety::Idempotent)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rejected(_)), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_create_that_gets_a_5xx_is_uncertain_and_not_resent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let c = client(4);
    let req = c.reqwest().post(server.uri()).body("{}").build().unwrap();
    let err = c.send(req, "/", Safety::NonIdempotent).await.unwrap_err();
    assert!(matches!(err, Error::Uncertain { .. }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_create_is_retried_after_a_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let c = client(4);
    let req = c.reqwest().post(server.uri()).body("{}").build().unwrap();
    assert_eq!(c.send(req, "/", Safety::NonIdempotent).await.unwrap().status, 201);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn never_exceeds_the_configured_concurrency() {
    use axum::routing::get as aget;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let (f, m) = (in_flight.clone(), max_seen.clone());
    let app = axum::Router::new().route(
        "/slow",
        aget(move || {
            let (f, m) = (f.clone(), m.clone());
            async move {
                let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                f.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let limits = RateLimits {
        per_minute: None,
        per_hour: None,
        concurrent: Some(3),
    };
    let c = HttpClient::builder("test")
        .policy(fast_policy(0))
        .rate_limits("concurrency-test-account", limits)
        .build()
        .unwrap();
    let url = format!("http://{addr}/slow");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            let url = url.clone();
            tokio::spawn(async move { c.send(get(&c, &url), "/slow", Safety::Idempotent).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let max = max_seen.load(Ordering::SeqCst);
    assert!(max <= 3, "saw {max} requests in flight");
    assert!(max >= 2, "requests were not concurrent at all ({max})");
    assert_eq!(c.stats().total, 20);
}

/// A tracing writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_in_headers_and_query_never_reach_logs_or_errors() {
    let header_secret = "hdr-secret-9f8e7d6c";
    let query_secret = "qry-secret-1a2b3c4d";
    let server = MockServer::start().await;
    // a server that echoes what it got, as some error pages do
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(400).set_body_string(format!("bad request {header_secret} {query_secret}")),
        )
        .mount(&server)
        .await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let c = HttpClient::builder("test")
        .policy(fast_policy(1))
        .secret(&Secret::new(header_secret))
        .secret(&Secret::new(query_secret))
        .build()
        .unwrap();
    let req = c
        .reqwest()
        .get(format!("{}/x?subscription-key={query_secret}&q=1", server.uri()))
        .bearer_auth(header_secret)
        .build()
        .unwrap();
    let err = c.send(req, "/x", Safety::Idempotent).await.unwrap_err();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("response"), "nothing was logged: {logs}");
    for s in [header_secret, query_secret] {
        assert!(!logs.contains(s), "secret in logs: {logs}");
        assert!(!err.to_string().contains(s), "secret in error: {err}");
        assert!(!format!("{err:?}").contains(s), "secret in error debug: {err:?}");
    }
}

struct RotatingAuth {
    cache: TokenCache,
}

#[async_trait]
impl AuthProvider for RotatingAuth {
    async fn authorize(&self, request: &mut reqwest::Request) -> Result<u64> {
        let n = self.cache.fetches() + 1;
        let (token, generation) = self
            .cache
            .get(Duration::from_secs(1), || async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok((Secret::new(format!("token-{n}")), Duration::from_secs(3600)))
            })
            .await?;
        let v = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|e| Error::internal(e.to_string()))?;
        request.headers_mut().insert(reqwest::header::AUTHORIZATION, v);
        Ok(generation)
    }

    async fn refresh(&self, generation: u64) -> Result<bool> {
        Ok(self.cache.invalidate(generation).await)
    }
}

#[tokio::test]
async fn refreshes_the_token_once_on_401_single_flight() {
    use wiremock::matchers::header;
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let auth = Arc::new(RotatingAuth {
        cache: TokenCache::default(),
    });
    let c = HttpClient::builder("test")
        .policy(fast_policy(0))
        .auth(auth.clone())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let c = c.clone();
            let url = server.uri();
            tokio::spawn(async move { c.send(get(&c, &url), "/", Safety::Idempotent).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().status, 200);
    }
    assert_eq!(auth.cache.fetches(), 2, "one initial token, one refresh");
}

#[tokio::test]
async fn a_second_401_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("nope"))
        .mount(&server)
        .await;
    let auth = Arc::new(RotatingAuth {
        cache: TokenCache::default(),
    });
    let c = HttpClient::builder("test")
        .policy(fast_policy(3))
        .auth(auth.clone())
        .build()
        .unwrap();
    let err = c
        .send(get(&c, &server.uri()), "/", Safety::Idempotent)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[test]
fn retry_after_parses_seconds_and_dates() {
    let mut h = HeaderMap::new();
    h.insert("retry-after", "7".parse().unwrap());
    assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(7)));
    h.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
    assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
    h.insert("retry-after", "soon".parse().unwrap());
    assert_eq!(parse_retry_after(&h), None);
}
