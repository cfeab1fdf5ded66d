//! HTTP access to the SnelStart B2B API v2 through koppel-core's [`HttpClient`] (authenticated
//! by [`crate::auth::TokenAuth`]): OData paging (`$skip`/`$top`, stop on a short page), and the classifier that turns
//! SnelStart's error bodies into [`Error`]s.

use std::sync::Arc;

use koppel_core::http::{default_classify, HttpClient, RawResponse, Safety, StatsSnapshot};
use koppel_core::{Error, Rejection, Result};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use crate::auth::{account_key, classify_token, TokenAuth, SUBSCRIPTION_HEADER, TOKEN_MARGIN};
use crate::config::Config;
use crate::models::ApiError;

// ---------------------------------------------------------------------------------------------
// Error classification
// ---------------------------------------------------------------------------------------------

/// The canonical field of SnelStart error codes whose field is known (reference section 3).
fn field_of_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "REL-0006" => "kvk_number",
        "REL-0007" => "name",
        "REL-0008" => "relatiecode",
        "REL-0012" => "phone",
        "REL-0013" => "mobile_phone",
        "REL-0055" | "REL-0056" => "billing.country",
        "REL-0057" | "REL-0058" | "REL-0059" | "REL-0087" | "REL-0088" => "vat_number",
        "REL-0060" => "billing",
        "REL-0061" | "REL-0084" | "REL-0085" => "email",
        "VOR-0002" => "customer",
        "VOR-0011" => "number",
        "ART-0002" => "artikelcode",
        "ART-0006" => "omschrijving",
        "ART-0008" => "artikelOmzetgroep",
        _ => return None,
    })
}

/// A field named in a message or a modelState key (`model.KvkNummer` -> `kvkNummer`).
fn field_of_key(key: &str) -> String {
    let last = key.rsplit('.').next().unwrap_or(key);
    let mut chars = last.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads SnelStart's 400 body: a JSON array of `{errorCode, message}`, an object with
/// `modelState` or `message`, or plain text.
pub fn parse_rejection(body: &[u8]) -> Rejection {
    let text = String::from_utf8_lossy(body);
    let snippet: String = text.trim().chars().take(500).collect();
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        let message = if snippet.is_empty() {
            "HTTP 400 without a body".to_owned()
        } else {
            format!("HTTP 400: {snippet}")
        };
        return Rejection::new("", None, message);
    };
    // [{errorCode, message}, …]; sometimes wrapped as {"errors": […]}
    let list = json
        .as_array()
        .cloned()
        .or_else(|| json.get("errors").and_then(Value::as_array).cloned());
    if let Some(items) = list {
        let errors: Vec<ApiError> = items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .filter(|e: &ApiError| e.error_code.is_some() || e.message.is_some())
            .collect();
        if let Some(first) = errors.first() {
            let message = errors
                .iter()
                .map(|e| match (&e.error_code, &e.message) {
                    (Some(c), Some(m)) => format!("{c}: {m}"),
                    (Some(c), None) => c.clone(),
                    (None, Some(m)) => m.clone(),
                    (None, None) => String::new(),
                })
                .collect::<Vec<_>>()
                .join("; ");
            let field = first.error_code.as_deref().and_then(field_of_code);
            let mut r = Rejection::new("", field, message);
            if let Some(code) = &first.error_code {
                r = r.with_code(code.clone());
            }
            return r;
        }
    }
    let model_state = json
        .get("modelState")
        .or_else(|| json.get("ModelState"))
        .and_then(Value::as_object);
    if let Some(ms) = model_state {
        let mut field = None;
        let mut parts = Vec::new();
        for (key, msgs) in ms {
            let msgs: Vec<String> = match msgs {
                Value::Array(a) => a.iter().filter_map(|m| m.as_str().map(str::to_owned)).collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            let name = field_of_key(key);
            if field.is_none() && !name.is_empty() {
                field = Some(name.clone());
            }
            parts.push(format!(
                "{}: {}",
                if name.is_empty() { key.as_str() } else { &name },
                msgs.join(" ")
            ));
        }
        let head = json
            .get("message")
            .or_else(|| json.get("Message"))
            .and_then(Value::as_str)
            .map(|m| format!("{m} "))
            .unwrap_or_default();
        return Rejection::new("", field.as_deref(), format!("{head}{}", parts.join("; ")));
    }
    if let Some(m) = json
        .get("message")
        .or_else(|| json.get("Message"))
        .and_then(Value::as_str)
    {
        return Rejection::new("", None, m.to_owned());
    }
    Rejection::new("", None, format!("HTTP 400: {snippet}"))
}

/// The message inside an API Management or OAuth error body, if any.
pub(crate) fn body_message(resp: &RawResponse) -> String {
    let json: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let from_json = json.as_ref().and_then(|j| {
        ["message", "Message", "error_description", "error"]
            .iter()
            .find_map(|k| j.get(*k).and_then(Value::as_str).map(str::to_owned))
    });
    from_json.unwrap_or_else(|| resp.text().trim().chars().take(300).collect())
}

/// Classifies a non-2xx answer of the API: 400 -> [`Error::Rejected`] with SnelStart's code and
/// message; 401 -> [`Error::Auth`] (subscription key or token); 403 -> [`Error::Auth`] (a scope
/// is missing; the caller names it); 404 not found; 429 and 5xx retryable.
pub fn classify(resp: &RawResponse) -> Error {
    match resp.status.as_u16() {
        400 | 422 => Error::Rejected(parse_rejection(&resp.body)),
        401 => {
            let msg = body_message(resp);
            let hint = if msg.to_ascii_lowercase().contains("subscription") {
                "the subscription key (subscription_key) was refused by SnelStart's API gateway: check it in the developer portal"
            } else {
                "SnelStart refused the access token even after a fresh one was fetched: check subscription_key and that the koppelsleutel (client_key) is still active"
            };
            Error::Auth {
                message: format!("HTTP 401: {hint} ({msg})"),
            }
        }
        403 => Error::Auth {
            message: format!(
                "HTTP 403: the koppeling lacks a permission (scope) ({})",
                body_message(resp)
            ),
        },
        _ => default_classify(resp),
    }
}

/// The scope an endpoint needs (SPEC), for 403 messages.
pub fn scope_for(method: &Method, resource: &str) -> &'static str {
    let write = *method != Method::GET;
    let first = resource
        .trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    match (first, write) {
        ("artikelen" | "artikelomzetgroepen", false) => "artikelen:read",
        ("artikelen", true) => "artikelen:write",
        ("relaties", false) => "relaties:read",
        ("relaties", true) => "relaties:write",
        ("verkooporders" | "verkoopfacturen", false) => "orders:read",
        ("verkooporders", true) => "orders:write",
        ("landen" | "btwtarieven" | "companyInfo", _) => "settings:read",
        _ => "the scope of this endpoint",
    }
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

/// Characters escaped in query values: everything but unreserved characters and a few OData
/// delimiters that are safe in a query (`$`, `,`, `/`, `(`, `)`, `:`).
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'+')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// OData query options of a list request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// `$filter`.
    pub filter: Option<String>,
    /// `$select`.
    pub select: Option<String>,
    /// `$skip`.
    pub skip: u64,
    /// `$top`.
    pub top: u32,
}

impl Query {
    /// The query string (without `?`).
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(f) = &self.filter {
            parts.push(format!("$filter={}", utf8_percent_encode(f, QUERY)));
        }
        if let Some(s) = &self.select {
            parts.push(format!("$select={}", utf8_percent_encode(s, QUERY)));
        }
        parts.push(format!("$skip={}", self.skip));
        parts.push(format!("$top={}", self.top));
        parts.join("&")
    }
}

/// The SnelStart API client of one administration.
pub struct SnelStartClient {
    api: HttpClient,
    auth: Arc<TokenAuth>,
    base: String,
}

impl Drop for SnelStartClient {
    fn drop(&mut self) {
        // break the API client <-> token provider cycle
        self.auth.detach();
    }
}

impl std::fmt::Debug for SnelStartClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnelStartClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl SnelStartClient {
    /// Builds the clients (no I/O).
    pub fn new(config: &Config) -> Result<Self> {
        let auth = Arc::new(TokenAuth::new(config)?);
        let api = HttpClient::builder("snelstart")
            .policy(config.http.clone())
            .rate_limits(account_key(&config.client_key), config.effective_limits())
            .auth(auth.clone())
            .classifier(Arc::new(classify))
            .secret(&config.client_key)
            .secret(&config.subscription_key)
            .build()?;
        auth.attach(&api);
        Ok(SnelStartClient {
            api,
            auth,
            base: config.api_base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Requests made so far (API and token endpoint).
    pub fn stats(&self) -> StatsSnapshot {
        self.api.stats().merge(self.auth.token_client().stats())
    }

    /// Tokens fetched so far.
    pub fn token_fetches(&self) -> u64 {
        self.auth.fetches()
    }

    /// Redacts known secrets (keys, tokens) from text.
    pub fn redact(&self, text: &str) -> String {
        self.api.redact(text)
    }

    /// Makes sure a token can be had (for `check`): the cached one, or a fresh fetch.
    pub async fn probe_token(&self) -> Result<()> {
        self.auth.probe().await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: Option<String>,
        endpoint: &str,
        body: Option<Vec<u8>>,
        safety: Safety,
    ) -> Result<RawResponse> {
        let mut url = format!("{}{}", self.base, path);
        if let Some(q) = query {
            url.push('?');
            url.push_str(&q);
        }
        let mut rb = self.api.reqwest().request(method.clone(), &url);
        if let Some(b) = body {
            rb = rb.header(CONTENT_TYPE, "application/json").body(b);
        }
        let request = rb
            .build()
            .map_err(|e| Error::config("api_base_url", format!("cannot build a request to {path}: {e}")))?;
        self.api
            .send(request, endpoint, safety)
            .await
            .map_err(|e| match e {
                Error::Auth { message } if message.starts_with("HTTP 403") => Error::Auth {
                    message: format!(
                        "{message}: {} {endpoint} needs scope {}; enable it for the koppeling",
                        method,
                        scope_for(&method, path)
                    ),
                },
                other => other,
            })
    }

    /// `GET <path>` parsed as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, endpoint: &str) -> Result<T> {
        self.call(Method::GET, path, None, endpoint, None, Safety::Idempotent)
            .await?
            .json()
    }

    /// One page of an OData list, each item as raw JSON (so one unreadable item does not fail
    /// the page).
    pub async fn list_page(&self, resource: &str, query: &Query) -> Result<Vec<Value>> {
        let resp = self
            .call(
                Method::GET,
                resource,
                Some(query.to_query_string()),
                resource,
                None,
                Safety::Idempotent,
            )
            .await?;
        let value: Value = resp.json()?;
        match value {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
            other => Err(Error::protocol(format!(
                "GET {resource}: expected a JSON array, got {}",
                match other {
                    Value::Object(_) => "an object",
                    _ => "a scalar",
                }
            ))),
        }
    }

    /// Every page of an OData list (for small lookups), stopping on a short page.
    pub async fn list_all(&self, resource: &str, mut query: Query, max_pages: usize) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for _ in 0..max_pages.max(1) {
            let page = self.list_page(resource, &query).await?;
            let n = page.len();
            out.extend(page);
            if n < query.top as usize {
                return Ok(out);
            }
            query.skip += u64::from(query.top);
        }
        Ok(out)
    }

    /// `POST <path>` with a JSON body; `safety` says whether a retry may duplicate.
    pub async fn post<B: Serialize>(&self, path: &str, body: &B, safety: Safety) -> Result<Option<Value>> {
        let bytes = koppel_core::wire::encode_json(body)?;
        let resp = self
            .call(Method::POST, path, None, path, Some(bytes), safety)
            .await?;
        Ok(parse_optional_body(&resp))
    }

    /// `PUT <path>` with the whole object.
    pub async fn put(&self, path: &str, endpoint: &str, body: &Value) -> Result<Option<Value>> {
        let bytes = koppel_core::wire::encode_json(body)?;
        let resp = self
            .call(Method::PUT, path, None, endpoint, Some(bytes), Safety::Idempotent)
            .await?;
        Ok(parse_optional_body(&resp))
    }
}

/// A success body, which may be empty.
fn parse_optional_body(resp: &RawResponse) -> Option<Value> {
    if koppel_core::wire::is_empty(&resp.body) {
        None
    } else {
        serde_json::from_slice(&resp.body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;
    use reqwest::StatusCode;

    fn resp(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn rejected(e: Error) -> Rejection {
        match e {
            Error::Rejected(r) => r,
            other => panic!("expected Rejected, got {other:?}"),
        }
    }

    #[test]
    fn array_of_error_codes() {
        let r = rejected(classify(&resp(
            400,
            r#"[{"errorCode":"REL-0006","message":"Het KvK-nummer is ongeldig."},{"errorCode":"REL-0007","message":"Naam is verplicht."}]"#,
        )));
        assert_eq!(r.code.as_deref(), Some("REL-0006"));
        assert_eq!(r.field.as_deref(), Some("kvk_number"));
        assert!(
            r.message.contains("REL-0006: Het KvK-nummer is ongeldig."),
            "{}",
            r.message
        );
        assert!(
            r.message.contains("REL-0007: Naam is verplicht."),
            "{}",
            r.message
        );
    }

    #[test]
    fn unknown_code_keeps_code_without_field() {
        let r = rejected(classify(&resp(
            400,
            r#"[{"errorCode":"ALG-0104","message":"Filter ongeldig"}]"#,
        )));
        assert_eq!(r.code.as_deref(), Some("ALG-0104"));
        assert_eq!(r.field, None);
    }

    #[test]
    fn model_state_names_the_field() {
        let r = rejected(classify(&resp(
            400,
            r#"{"message":"The request is invalid.","modelState":{"model.Naam":["Naam is te lang."]}}"#,
        )));
        assert_eq!(r.field.as_deref(), Some("naam"));
        assert!(r.message.contains("The request is invalid."), "{}", r.message);
        assert!(r.message.contains("naam: Naam is te lang."), "{}", r.message);
        assert_eq!(r.code, None);
    }

    #[test]
    fn message_object_and_text_bodies() {
        let r = rejected(classify(&resp(400, r#"{"Message":"Er is iets fout gegaan"}"#)));
        assert_eq!(r.message, "Er is iets fout gegaan");
        let r = rejected(classify(&resp(400, "Bad Request - Invalid Hostname")));
        assert_eq!(r.message, "HTTP 400: Bad Request - Invalid Hostname");
        let r = rejected(classify(&resp(400, "")));
        assert_eq!(r.message, "HTTP 400 without a body");
        // JSON but none of the known shapes
        let r = rejected(classify(&resp(400, r#"{"weird":1}"#)));
        assert!(r.message.contains("weird"), "{}", r.message);
    }

    #[test]
    fn status_classes() {
        let e = classify(&resp(
            401,
            r#"{"statusCode":401,"message":"Access denied due to invalid subscription key."}"#,
        ));
        assert!(
            matches!(&e, Error::Auth { message } if message.contains("subscription_key")),
            "{e:?}"
        );
        let e = classify(&resp(
            401,
            r#"{"message":"Authorization has been denied for this request."}"#,
        ));
        assert!(
            matches!(&e, Error::Auth { message } if message.contains("client_key")),
            "{e:?}"
        );
        assert!(matches!(classify(&resp(403, "")), Error::Auth { .. }));
        assert!(matches!(
            classify(&resp(404, r#"{"message":"niet gevonden"}"#)),
            Error::NotFound { .. }
        ));
        assert!(matches!(classify(&resp(429, "")), Error::RateLimited { .. }));
        assert!(matches!(classify(&resp(503, "")), Error::Transient { .. }));
        assert!(matches!(classify(&resp(500, "oops")), Error::Transient { .. }));
        let e = classify_token(&resp(400, r#"{"error":"invalid_grant"}"#));
        assert!(
            matches!(&e, Error::Auth { message } if message.contains("koppelsleutel") && message.contains("invalid_grant")),
            "{e:?}"
        );
        assert!(matches!(classify_token(&resp(502, "")), Error::Transient { .. }));
    }

    #[test]
    fn scopes_by_endpoint() {
        assert_eq!(scope_for(&Method::GET, "/artikelen"), "artikelen:read");
        assert_eq!(scope_for(&Method::POST, "/verkooporders"), "orders:write");
        assert_eq!(scope_for(&Method::PUT, "/relaties/abc"), "relaties:write");
        assert_eq!(scope_for(&Method::GET, "/verkoopfacturen"), "orders:read");
        assert_eq!(scope_for(&Method::GET, "/companyInfo"), "settings:read");
    }

    #[test]
    fn query_strings_escape_literals() {
        let q = Query {
            filter: Some(
                "Email eq 'o''brien@x.nl' and ModifiedOn gt datetime'2024-01-01T00:00:00.000'".into(),
            ),
            select: Some("Id,Artikelcode".into()),
            skip: 50,
            top: 25,
        };
        assert_eq!(
            q.to_query_string(),
            "$filter=Email%20eq%20%27o%27%27brien@x.nl%27%20and%20ModifiedOn%20gt%20datetime%272024-01-01T00:00:00.000%27&$select=Id,Artikelcode&$skip=50&$top=25"
        );
    }
}
