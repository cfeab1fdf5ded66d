//! HTTP access to the Magento REST API: URLs per store scope, `searchCriteria` queries and
//! paging, JSON bodies, and the error classifier (Magento's `{message, parameters}` bodies).

use std::sync::Arc;

use koppel_core::http::{default_classify, HttpClient, RawResponse, Safety, StatsSnapshot};
use koppel_core::{Error, Rejection, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::auth::{MagentoAuth, OAuthCredentials};
use crate::config::{AuthMode, Config};
use crate::models::{ErrorBody, SearchResult};

/// The scope `all`: global values (product data, stock), no store-view copies.
pub const SCOPE_ALL: &str = "all";

/// One filter of a `searchCriteria` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Field, e.g. `updated_at`.
    pub field: String,
    /// Value, e.g. `2024-05-01 10:00:00` or `processing,complete` for `in`.
    pub value: String,
    /// Condition: `eq`, `gt`, `lteq`, `in`, ...
    pub condition: String,
}

impl Filter {
    /// A filter.
    pub fn new(field: &str, condition: &str, value: impl Into<String>) -> Self {
        Filter {
            field: field.into(),
            value: value.into(),
            condition: condition.into(),
        }
    }
}

/// A `searchCriteria`: groups are AND-ed, filters within a group OR-ed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchCriteria {
    /// Filter groups.
    pub groups: Vec<Vec<Filter>>,
    /// Sort orders (field, `ASC`/`DESC`).
    pub sort: Vec<(String, String)>,
    /// Page size.
    pub page_size: Option<u32>,
    /// Page, 1-based.
    pub current_page: Option<u32>,
}

impl SearchCriteria {
    /// Adds a group with one filter (AND).
    pub fn and(mut self, f: Filter) -> Self {
        self.groups.push(vec![f]);
        self
    }

    /// Adds a sort order.
    pub fn sort(mut self, field: &str, direction: &str) -> Self {
        self.sort.push((field.into(), direction.into()));
        self
    }

    /// Sets the page.
    pub fn page(mut self, size: u32, page: u32) -> Self {
        self.page_size = Some(size);
        self.current_page = Some(page);
        self
    }

    /// The query parameters, e.g. `searchCriteria[filter_groups][0][filters][0][field]`.
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            for (i, f) in group.iter().enumerate() {
                let p = format!("searchCriteria[filter_groups][{g}][filters][{i}]");
                q.push((format!("{p}[field]"), f.field.clone()));
                q.push((format!("{p}[value]"), f.value.clone()));
                q.push((format!("{p}[condition_type]"), f.condition.clone()));
            }
        }
        for (k, (field, dir)) in self.sort.iter().enumerate() {
            q.push((format!("searchCriteria[sortOrders][{k}][field]"), field.clone()));
            q.push((format!("searchCriteria[sortOrders][{k}][direction]"), dir.clone()));
        }
        if let Some(s) = self.page_size {
            q.push(("searchCriteria[pageSize]".into(), s.to_string()));
        }
        if let Some(p) = self.current_page {
            q.push(("searchCriteria[currentPage]".into(), p.to_string()));
        }
        q
    }
}

/// The next page after `page` (1-based), or `None`: `total_count` is the stop condition, since
/// older Magento answers a page past the end with the last page again.
pub fn next_page(page: u32, page_size: u32, items: usize, total_count: u64) -> Option<u32> {
    let seen = u64::from(page) * u64::from(page_size);
    (items > 0 && seen < total_count).then_some(page + 1)
}

/// Whether a value can stand in the list of an `in` filter: Magento splits the list on every
/// comma (`explode(',')`, no trimming), so a value with a comma or surrounding blanks would
/// not match itself.
pub fn fits_in_list(value: &str) -> bool {
    !value.is_empty() && !value.contains(',') && value.trim() == value
}

/// Splits values, in order, into `in` lists of at most `max_count` values whose comma-joined,
/// percent-encoded form stays within `max_len` bytes (the query must fit in a request line; a
/// value longer than that gets a list of its own).
pub fn in_lists<'a>(values: &[&'a str], max_count: usize, max_len: usize) -> Vec<Vec<&'a str>> {
    let mut out: Vec<Vec<&'a str>> = Vec::new();
    let mut len = 0;
    for v in values {
        let encoded: usize = url::form_urlencoded::byte_serialize(v.as_bytes())
            .map(str::len)
            .sum();
        // the comma before each further value is sent as `%2C`
        let need = encoded + 3;
        match out.last_mut() {
            Some(list) if list.len() < max_count.max(1) && len + need <= max_len => {
                list.push(v);
                len += need;
            }
            _ => {
                out.push(vec![v]);
                len = encoded;
            }
        }
    }
    out
}

/// Renders Magento's message placeholders: `%1`, `%2` from an array of parameters (1-based),
/// `%name` from an object. Unknown placeholders stay as written.
pub fn render_message(message: &str, parameters: Option<&serde_json::Value>) -> String {
    let text_of = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let name_len = after
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(after.len(), |(i, _)| i);
        let name = &after[..name_len];
        let value = match (parameters, name) {
            (_, "") => None,
            (Some(serde_json::Value::Array(a)), n) if n.bytes().all(|b| b.is_ascii_digit()) => n
                .parse::<usize>()
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| a.get(i))
                .map(text_of),
            (Some(serde_json::Value::Object(o)), n) => o.get(n).map(text_of),
            _ => None,
        };
        match value {
            Some(v) => out.push_str(&v),
            None => {
                out.push('%');
                out.push_str(name);
            }
        }
        rest = &after[name_len..];
    }
    out.push_str(rest);
    out
}

/// Renders an error body, including nested `errors`.
pub fn render_error(body: &ErrorBody) -> String {
    let mut s = render_message(&body.message, body.parameters.as_ref());
    let nested: Vec<String> = body.errors.iter().map(render_error).collect();
    if !nested.is_empty() {
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(&nested.join("; "));
    }
    s
}

/// What a 401 most likely means, from Magento's message.
fn auth_hint(message: &str, mode: AuthMode) -> &'static str {
    let m = message.to_ascii_lowercase();
    if mode == AuthMode::Bearer {
        return "the access token was refused as a Bearer token: check auth.access_token, or the shop does \
                not allow integration tokens as standalone Bearer tokens (off by default since 2.4.4): use \
                mode = \"oauth1\" with all four integration credentials";
    }
    if m.contains("consumer") && (m.contains("key") || m.contains("exist") || m.contains("rejected")) {
        "the consumer key is wrong: check auth.consumer_key"
    } else if m.contains("signature") {
        "the signature is invalid: check auth.consumer_secret and auth.access_token_secret"
    } else if m.contains("token") {
        "the access token is wrong or revoked: check auth.access_token and auth.access_token_secret \
         (re-activate the integration to get new ones)"
    } else if m.contains("timestamp") || m.contains("nonce") {
        "the request timestamp was refused: check this machine's clock"
    } else if m.contains("not authorized") || m.contains("isn't authorized") {
        "Magento gives this answer both for wrong OAuth credentials and for a missing permission: check \
         auth.consumer_key, auth.consumer_secret, auth.access_token and auth.access_token_secret \
         (re-activating the integration issues new ones), and that the integration has this API \
         resource (System > Extensions > Integrations > API)"
    } else {
        "check the four integration credentials under auth"
    }
}

/// Classifies a non-2xx Magento answer: 400 -> [`Error::Rejected`] with the rendered message,
/// 401/403 -> [`Error::Auth`] saying which credential to check, 404 -> [`Error::NotFound`],
/// 429 -> rate limited, 5xx -> transient; everything else falls back to the core rules.
pub fn classify(resp: &RawResponse, mode: AuthMode) -> Error {
    let body: Option<ErrorBody> = serde_json::from_slice(&resp.body).ok();
    let rendered = body.as_ref().map(render_error).filter(|s| !s.trim().is_empty());
    let Some(msg) = rendered else {
        return default_classify(resp);
    };
    let status = resp.status.as_u16();
    match status {
        400 | 422 => Error::Rejected(Rejection::new("", None, msg).with_code(status.to_string())),
        401 => Error::Auth {
            message: format!("HTTP 401: {msg}: {}", auth_hint(&msg, mode)),
        },
        403 => Error::Auth {
            message: format!("HTTP 403: {msg}: the integration lacks a permission (System > Extensions > Integrations > API)"),
        },
        404 => Error::NotFound { what: msg },
        429 => Error::RateLimited {
            message: format!("HTTP 429: {msg}"),
            retry_after: resp.retry_after(),
        },
        500..=599 => Error::Transient {
            message: format!("HTTP {status}: {msg}"),
            retry_after: resp.retry_after(),
        },
        _ => default_classify(resp),
    }
}

/// The Magento REST client of one shop.
#[derive(Clone, Debug)]
pub struct MagentoClient {
    http: HttpClient,
    base: Url,
    store_code: String,
}

impl MagentoClient {
    /// Builds the client (no I/O).
    pub fn new(cfg: &Config, pair: &str) -> Result<Self> {
        let auth = match cfg.auth.mode {
            AuthMode::Bearer => MagentoAuth::Bearer(cfg.auth.access_token.clone()),
            AuthMode::Oauth1 => {
                let need = |v: &Option<koppel_core::Secret>, name: &str| {
                    v.clone()
                        .ok_or_else(|| Error::config(format!("auth.{name}"), "required for mode `oauth1`"))
                };
                MagentoAuth::OAuth1(OAuthCredentials {
                    consumer_key: need(&cfg.auth.consumer_key, "consumer_key")?,
                    consumer_secret: need(&cfg.auth.consumer_secret, "consumer_secret")?,
                    token: cfg.auth.access_token.clone(),
                    token_secret: need(&cfg.auth.access_token_secret, "access_token_secret")?,
                })
            }
        };
        let mode = cfg.auth.mode;
        let host = cfg.base_url.host_str().unwrap_or("shop").to_owned();
        let mut b = HttpClient::builder("magento")
            .policy(cfg.http.clone())
            .rate_limits(format!("magento:{host}"), cfg.rate_limits)
            .auth(Arc::new(auth))
            .classifier(Arc::new(move |r: &RawResponse| classify(r, mode)))
            .secret(&cfg.auth.access_token);
        for s in [
            &cfg.auth.consumer_key,
            &cfg.auth.consumer_secret,
            &cfg.auth.access_token_secret,
        ]
        .into_iter()
        .flatten()
        {
            b = b.secret(s);
        }
        let http = b.build()?;
        let _ = pair;
        Ok(MagentoClient {
            http,
            base: cfg.base_url.clone(),
            store_code: cfg.store_code.clone(),
        })
    }

    /// The store code reads use.
    pub fn store_code(&self) -> &str {
        &self.store_code
    }

    /// Request counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.http.stats()
    }

    /// `<base>/rest/<scope>/V1/<segments...>?<query>`; each segment is percent-encoded (a SKU
    /// with `/` stays one segment).
    pub fn url(&self, scope: &str, segments: &[&str], query: &[(String, String)]) -> Result<Url> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| Error::config("base_url", "cannot be a base URL"))?;
            path.pop_if_empty().push("rest").push(scope).push("V1");
            for s in segments {
                path.push(s);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<Vec<u8>>,
        endpoint: &str,
        safety: Safety,
    ) -> Result<RawResponse> {
        let mut req = self
            .http
            .reqwest()
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        let req = req
            .build()
            .map_err(|e| Error::internal(format!("cannot build request: {}", e.without_url())))?;
        self.http.send(req, endpoint, safety).await
    }

    /// GET and parse JSON.
    pub async fn get<T: DeserializeOwned>(
        &self,
        scope: &str,
        segments: &[&str],
        query: &[(String, String)],
        endpoint: &str,
    ) -> Result<T> {
        let url = self.url(scope, segments, query)?;
        self.send(reqwest::Method::GET, url, None, endpoint, Safety::Idempotent)
            .await?
            .json()
    }

    /// Sends a JSON body and parses the JSON answer.
    pub async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        scope: &str,
        segments: &[&str],
        body: &B,
        endpoint: &str,
        safety: Safety,
    ) -> Result<T> {
        let url = self.url(scope, segments, &[])?;
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::internal(format!("cannot encode body: {e}")))?;
        let resp = self.send(method, url, Some(bytes), endpoint, safety).await?;
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            // a `void` service answers with an empty body
            return serde_json::from_str("null")
                .map_err(|e| Error::protocol(format!("{endpoint}: empty answer: {e}")));
        }
        resp.json()
    }

    /// A `searchCriteria` list in the read scope.
    pub async fn search<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        criteria: &SearchCriteria,
        extra: &[(String, String)],
        endpoint: &str,
    ) -> Result<SearchResult<T>> {
        let mut q = criteria.query();
        q.extend_from_slice(extra);
        self.get(&self.store_code, segments, &q, endpoint).await
    }

    /// Every match of a search in the read scope, page after page (`page_size` each, sorted
    /// by `entity_id` so pages do not overlap), with the `total_count` the shop reported.
    /// Stops at `total_count`, since older Magento answers a page past the end with the last
    /// page again.
    pub async fn search_all<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        criteria: &SearchCriteria,
        page_size: u32,
        endpoint: &str,
    ) -> Result<(Vec<T>, u64)> {
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let c = criteria.clone().sort("entity_id", "ASC").page(page_size, page);
            let res: SearchResult<T> = self.search(segments, &c, &[], endpoint).await?;
            let next = next_page(page, page_size, res.items.len(), res.total_count);
            let total = res.total_count;
            items.extend(res.items);
            match next {
                Some(p) => page = p,
                None => return Ok((items, total)),
            }
        }
    }

    /// The products with these SKUs as the read scope has them, by one search (`sku` `in`
    /// the list, paged by `page_size`); items are left unparsed so one odd product does not
    /// fail the rest. Every SKU must pass [`fits_in_list`].
    pub async fn products_by_sku(
        &self,
        skus: &[&str],
        page_size: u32,
    ) -> Result<(Vec<Box<serde_json::value::RawValue>>, u64)> {
        if let Some(bad) = skus.iter().find(|s| !fits_in_list(s)) {
            return Err(Error::internal(format!(
                "SKU {bad:?} cannot be searched with an `in` filter"
            )));
        }
        let c = SearchCriteria::default().and(Filter::new("sku", "in", skus.join(",")));
        self.search_all(&["products"], &c, page_size, "/V1/products")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn resp(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn renders_positional_and_named_placeholders() {
        let arr = serde_json::json!(["sku", "KP-1"]);
        assert_eq!(
            render_message("The \"%1\" attribute value \"%2\" is invalid (%3).", Some(&arr)),
            "The \"sku\" attribute value \"KP-1\" is invalid (%3)."
        );
        let obj = serde_json::json!({"resources": "Magento_Catalog::products", "fieldName": "sku", "n": 5});
        assert_eq!(
            render_message("The consumer isn't authorized to access %resources.", Some(&obj)),
            "The consumer isn't authorized to access Magento_Catalog::products."
        );
        assert_eq!(
            render_message("%fieldName is %n%% done", Some(&obj)),
            "sku is 5%% done"
        );
        assert_eq!(render_message("100% sure, %1", None), "100% sure, %1");
        let many = serde_json::json!(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
        assert_eq!(render_message("%10/%1", Some(&many)), "j/a");
        let nested = ErrorBody {
            message: "Validation failed".into(),
            parameters: None,
            errors: vec![ErrorBody {
                message: "\"%fieldName\" is required.".into(),
                parameters: Some(serde_json::json!({"fieldName": "name"})),
                errors: vec![],
            }],
        };
        assert_eq!(render_error(&nested), "Validation failed: \"name\" is required.");
    }

    #[test]
    fn classifies_magento_errors() {
        let e = classify(
            &resp(
                400,
                r#"{"message":"Invalid value of \"%1\" provided for the %2 field.","parameters":["x","price"]}"#,
            ),
            AuthMode::Oauth1,
        );
        match e {
            Error::Rejected(r) => {
                assert_eq!(r.message, "Invalid value of \"x\" provided for the price field.");
                assert_eq!(r.code.as_deref(), Some("400"));
            }
            other => panic!("{other:?}"),
        }
        let e = classify(
            &resp(401, r#"{"message":"Consumer key has expired"}"#),
            AuthMode::Oauth1,
        );
        assert!(
            matches!(&e, Error::Auth { message } if message.contains("auth.consumer_key")),
            "{e}"
        );
        let e = classify(
            &resp(
                401,
                r#"{"message":"The signature is invalid. Verify and try again."}"#,
            ),
            AuthMode::Oauth1,
        );
        assert!(
            matches!(&e, Error::Auth { message } if message.contains("auth.consumer_secret")),
            "{e}"
        );
        let e = classify(
            &resp(401, r#"{"message":"Specified token does not exist"}"#),
            AuthMode::Oauth1,
        );
        assert!(
            matches!(&e, Error::Auth { message } if message.contains("auth.access_token")),
            "{e}"
        );
        let e = classify(
            &resp(
                401,
                r#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Sales::actions_view"}}"#,
            ),
            AuthMode::Bearer,
        );
        assert!(
            matches!(&e, Error::Auth { message } if message.contains("Magento_Sales::actions_view") && message.contains("oauth1")),
            "{e}"
        );
        let e = classify(
            &resp(
                404,
                r#"{"message":"The product that was requested doesn't exist. Verify the product and try again."}"#,
            ),
            AuthMode::Oauth1,
        );
        assert!(matches!(e, Error::NotFound { .. }));
        assert!(classify(
            &resp(503, r#"{"message":"Service Unavailable"}"#),
            AuthMode::Oauth1
        )
        .is_retryable());
        assert!(matches!(
            classify(&resp(429, r#"{"message":"Too many"}"#), AuthMode::Oauth1),
            Error::RateLimited { .. }
        ));
        // no Magento body: the core rules
        assert!(classify(&resp(502, "<html>bad gateway</html>"), AuthMode::Oauth1).is_retryable());
    }

    #[test]
    fn in_lists_respect_count_and_length() {
        assert!(fits_in_list("KP-0001"));
        assert!(!fits_in_list("A,B"));
        assert!(!fits_in_list(" A"));
        assert!(!fits_in_list(""));
        let v = ["a", "bb", "ccc", "d", "e"];
        assert_eq!(
            in_lists(&v, 2, 1000),
            vec![vec!["a", "bb"], vec!["ccc", "d"], vec!["e"]]
        );
        // "a%2Cbb" is 6 bytes; adding "%2Cccc" would make 12
        assert_eq!(in_lists(&v, 10, 11), vec![vec!["a", "bb"], vec!["ccc", "d", "e"]]);
        // a value longer than the limit still gets a list of its own
        assert_eq!(
            in_lists(&["x", "long/value", "y"], 10, 4),
            vec![vec!["x"], vec!["long/value"], vec!["y"]]
        );
        assert_eq!(in_lists(&[], 5, 10), Vec::<Vec<&str>>::new());
    }

    #[test]
    fn search_criteria_query_and_paging() {
        let c = SearchCriteria::default()
            .and(Filter::new("updated_at", "gt", "2024-05-01 10:00:00"))
            .and(Filter::new("status", "in", "processing,complete"))
            .sort("entity_id", "ASC")
            .page(50, 2);
        let q = c.query();
        assert_eq!(
            q[0],
            (
                "searchCriteria[filter_groups][0][filters][0][field]".into(),
                "updated_at".into()
            )
        );
        assert_eq!(
            q[5],
            (
                "searchCriteria[filter_groups][1][filters][0][condition_type]".into(),
                "in".into()
            )
        );
        assert!(q.contains(&("searchCriteria[sortOrders][0][direction]".into(), "ASC".into())));
        assert!(q.contains(&("searchCriteria[currentPage]".into(), "2".into())));
        assert_eq!(next_page(1, 50, 50, 120), Some(2));
        assert_eq!(next_page(3, 50, 20, 120), None);
        assert_eq!(next_page(3, 50, 50, 150), None); // a repeated last page is not read again
        assert_eq!(next_page(1, 50, 0, 10), None);
    }
}
