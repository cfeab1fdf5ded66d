//! HTTP access to the PrestaShop webservice: `<base_url>/api/<resource>` URLs with
//! `output_format=JSON` for reads, XML bodies for writes, the version and permissions read once
//! from `GET /api/`, and the error classifier for PrestaShop's `errors[{code, message}]` bodies.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use koppel_core::http::{default_classify, HttpClient, RawResponse, Safety, StatsSnapshot};
use koppel_core::{Error, Rejection, Result};
use serde_json::Value;
use url::Url;

use crate::auth::{basic_value, KeyAuth};
use crate::config::{Config, VersionMode};
use crate::models::{error_list, list_items, parse_xml, Obj, XmlEntity};

/// What the shop told about itself and the key, read once per connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiInfo {
    /// `PSWS-Version` (e.g. `8.1.7`), empty when the shop did not send it.
    pub version: String,
    /// Whether the webservice has PATCH (8.0 and later).
    pub v8: bool,
    /// Resource -> methods the key may use (upper case), from `GET /api/`.
    pub permissions: BTreeMap<String, BTreeSet<String>>,
}

impl ApiInfo {
    /// Whether the key may use `method` on `resource`.
    pub fn allows(&self, resource: &str, method: &str) -> bool {
        self.permissions
            .get(resource)
            .is_some_and(|m| m.contains(&method.to_ascii_uppercase()))
    }

    /// Whether updates of `resource` can be PATCHes (8.x and the key has PATCH).
    pub fn patch(&self, resource: &str) -> bool {
        self.v8 && self.allows(resource, "PATCH")
    }
}

/// Reads the index document of `GET /api/`: one element per resource the key has, with
/// `get="true"`, `put="true"`, ... attributes (WebserviceOutputBuilder::getResourcesList).
pub fn parse_index(body: &[u8]) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let root = parse_xml(body).map_err(|e| Error::protocol(format!("GET /api/: not XML: {e}")))?;
    let api = root
        .child("api")
        .ok_or_else(|| Error::protocol("GET /api/: no <api> element"))?;
    Ok(api
        .children
        .iter()
        .map(|r| {
            let methods = ["get", "put", "post", "patch", "delete", "head"]
                .into_iter()
                .filter(|m| r.attrs.get(*m).is_some_and(|v| v == "true"))
                .map(|m| m.to_ascii_uppercase())
                .collect();
            (r.name.clone(), methods)
        })
        .collect())
}

fn auth_hint(code: Option<u32>) -> &'static str {
    match code {
        Some(16 | 17) => "no key was sent: set `key`",
        Some(18) => "the key must be 32 characters: check `key`",
        Some(20 | 21) => {
            "the key is unknown or disabled: check `key` and that it is enabled under Advanced \
             Parameters > Webservice"
        }
        Some(26) => {
            "the key has no permission on this resource: tick it under Advanced Parameters > \
             Webservice > the key > Permissions"
        }
        _ => "check `key` (Advanced Parameters > Webservice)",
    }
}

/// Classifies a non-2xx answer: 401 -> [`Error::Auth`] saying what to fix, 405 code 25 (method
/// not granted to the key) -> [`Error::Auth`] naming the method, 400 -> [`Error::Rejected`]
/// with PrestaShop's code and message, 404 -> [`Error::NotFound`], 503 code 22 (webservice off)
/// -> config error, 5xx -> transient; without a PrestaShop body the core rules apply.
pub fn classify(resp: &RawResponse) -> Error {
    let errs = error_list(&resp.body);
    let status = resp.status.as_u16();
    if errs.is_empty() {
        return default_classify(resp);
    }
    let msg = errs
        .iter()
        .map(|(c, m)| match c {
            Some(c) => format!("[{c}] {m}"),
            None => m.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let code = errs.first().and_then(|e| e.0);
    match (status, code) {
        (401, _) => Error::Auth {
            message: format!("HTTP 401: {msg}: {}", auth_hint(code)),
        },
        (405, Some(25)) => Error::Auth {
            message: format!(
                "HTTP 405: {msg}: grant this method to the key under Advanced Parameters > Webservice"
            ),
        },
        (405, Some(23)) => Error::protocol(format!(
            "HTTP 405: {msg}: this PrestaShop has no PATCH (1.7): set version = \"1.7\" or \"auto\""
        )),
        (400 | 422, _) | (500, Some(127)) => {
            let mut r = Rejection::new("", None, msg);
            if let Some(c) = code {
                r = r.with_code(c.to_string());
            }
            Error::Rejected(r)
        }
        (404, _) => Error::NotFound { what: msg },
        (503, Some(22)) => Error::config(
            "base_url",
            format!("{msg}: enable the webservice under Advanced Parameters > Webservice"),
        ),
        (429, _) => Error::RateLimited {
            message: format!("HTTP 429: {msg}"),
            retry_after: resp.retry_after(),
        },
        (500..=599, _) => Error::Transient {
            message: format!("HTTP {status}: {msg}"),
            retry_after: resp.retry_after(),
        },
        _ => Error::protocol(format!("HTTP {status}: {msg}")),
    }
}

/// Whether a value can stand in a `filter[...]=[a|b]` list: PrestaShop splits on `|` and `,`
/// and reads `[`/`]` as the brackets (SQLUtils::getSQLRetrieveFilter), and trims nothing.
pub fn fits_filter(value: &str) -> bool {
    !value.is_empty() && value.trim() == value && !value.contains(['|', ',', '[', ']', '%'])
}

/// `[a|b|c]`.
pub fn or_list<S: AsRef<str>>(values: &[S]) -> String {
    let parts: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    format!("[{}]", parts.join("|"))
}

/// The webservice client of one shop.
#[derive(Clone)]
pub struct PrestaClient {
    http: HttpClient,
    base: Url,
    id_shop: Option<u32>,
    mode: VersionMode,
    info: Arc<tokio::sync::OnceCell<ApiInfo>>,
}

impl std::fmt::Debug for PrestaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrestaClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl PrestaClient {
    /// Builds the client (no I/O).
    pub fn new(cfg: &Config) -> Result<Self> {
        let host = cfg.base_url.host_str().unwrap_or("shop").to_owned();
        let http = HttpClient::builder("prestashop")
            .policy(cfg.http.clone())
            .rate_limits(format!("prestashop:{host}"), cfg.rate_limits)
            .auth(Arc::new(KeyAuth::new(cfg.key.clone())))
            .classifier(Arc::new(classify))
            .secret(&cfg.key)
            .build()?;
        http.add_secret(&basic_value(&cfg.key));
        Ok(PrestaClient {
            http,
            base: cfg.base_url.clone(),
            id_shop: cfg.id_shop,
            mode: cfg.version,
            info: Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    /// Request counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.http.stats()
    }

    /// `<base>/api/<segments>?<query>` (with `id_shop` on a multistore).
    pub fn url(&self, segments: &[&str], query: &[(String, String)], json: bool) -> Result<Url> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| Error::config("base_url", "cannot be a base URL"))?;
            path.pop_if_empty().push("api");
            for s in segments {
                path.push(s);
            }
            if segments.is_empty() {
                path.push("");
            }
        }
        let mut q: Vec<(String, String)> = Vec::new();
        if json {
            q.push(("output_format".into(), "JSON".into()));
        }
        if let Some(s) = self.id_shop {
            q.push(("id_shop".into(), s.to_string()));
        }
        q.extend_from_slice(query);
        if !q.is_empty() {
            url.query_pairs_mut().extend_pairs(&q);
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
        let mut req = self.http.reqwest().request(method, url);
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
                .body(b);
        }
        let req = req
            .build()
            .map_err(|e| Error::internal(format!("cannot build request: {}", e.without_url())))?;
        self.http.send(req, endpoint, safety).await
    }

    /// The version and the key's permissions, read once (`GET /api/`).
    pub async fn info(&self) -> Result<&ApiInfo> {
        self.info
            .get_or_try_init(|| async {
                let url = self.url(&[], &[], false)?;
                let resp = self
                    .send(reqwest::Method::GET, url, None, "/api/", Safety::Idempotent)
                    .await?;
                let version = resp
                    .headers
                    .get("psws-version")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                let permissions = parse_index(&resp.body)?;
                let v8 = match self.mode {
                    VersionMode::V17 => false,
                    VersionMode::V8 => true,
                    VersionMode::Auto => {
                        let major: u32 = version
                            .split('.')
                            .next()
                            .and_then(|m| m.parse().ok())
                            .unwrap_or(0);
                        if major == 0 {
                            return Err(Error::protocol(format!(
                                "GET /api/: no PSWS-Version header ({version:?}): set version = \"1.7\" or \"8\""
                            )));
                        }
                        major >= 8
                    }
                };
                Ok(ApiInfo {
                    version,
                    v8,
                    permissions,
                })
            })
            .await
    }

    /// A list read (`display`, filters, sort, limit in `query`): the records, unparsed.
    pub async fn list(&self, resource: &str, query: &[(String, String)]) -> Result<Vec<Value>> {
        let url = self.url(&[resource], query, true)?;
        let endpoint = format!("/api/{resource}");
        let resp = self
            .send(reqwest::Method::GET, url, None, &endpoint, Safety::Idempotent)
            .await?;
        list_items(&resp.body, resource)
    }

    /// A GET of a single document (`?schema=blank`, `/api/<resource>/<id>`) as JSON.
    pub async fn get_value(&self, segments: &[&str], query: &[(String, String)]) -> Result<Value> {
        let url = self.url(segments, query, true)?;
        let endpoint = format!("/api/{}", segments.first().copied().unwrap_or(""));
        self.send(reqwest::Method::GET, url, None, &endpoint, Safety::Idempotent)
            .await?
            .json()
    }

    /// A list read of the records whose `field` is one of `values` (one request per chunk of
    /// `chunk` values), every field. Values must pass [`fits_filter`].
    pub async fn list_by(
        &self,
        resource: &str,
        field: &str,
        values: &[String],
        extra: &[(String, String)],
        chunk: usize,
    ) -> Result<Vec<Obj>> {
        let mut out = Vec::new();
        let mut uniq: Vec<&String> = values.iter().collect();
        uniq.sort();
        uniq.dedup();
        for part in uniq.chunks(chunk.max(1)) {
            if let Some(bad) = part.iter().find(|v| !fits_filter(v)) {
                return Err(Error::internal(format!("{bad:?} cannot be used in a filter")));
            }
            let mut q = vec![
                ("display".to_owned(), "full".to_owned()),
                (format!("filter[{field}]"), or_list(part)),
            ];
            q.extend_from_slice(extra);
            out.extend(
                self.list(resource, &q)
                    .await?
                    .into_iter()
                    .filter_map(Obj::from_value),
            );
        }
        Ok(out)
    }

    /// Sends an XML entity (POST creates, PUT replaces, PATCH changes the given fields) and
    /// returns the record the shop answers with.
    pub async fn write(
        &self,
        method: reqwest::Method,
        resource: &str,
        entity: &XmlEntity,
        query: &[(String, String)],
        safety: Safety,
    ) -> Result<Obj> {
        let url = self.url(&[resource], query, true)?;
        let endpoint = format!("/api/{resource}");
        let body = entity.to_xml()?;
        let resp = self.send(method, url, Some(body), &endpoint, safety).await?;
        let v: Value = resp.json()?;
        v.get(entity.node.as_str())
            .cloned()
            .and_then(Obj::from_value)
            .ok_or_else(|| Error::protocol(format!("{endpoint}: the answer has no {:?}", entity.node)))
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
    fn classifies_prestashop_errors() {
        let e = classify(&resp(
            401,
            r#"{"errors":[{"code":18,"message":"Invalid authentication key format"}]}"#,
        ));
        assert!(
            matches!(&e, Error::Auth { message } if message.contains("32 characters")),
            "{e}"
        );
        let e = classify(&resp(
            405,
            r#"{"errors":[{"code":25,"message":"Method PUT is not allowed for the resource products with this authentication key"}]}"#,
        ));
        assert!(
            matches!(&e, Error::Auth { message } if message.contains("PUT") && message.contains("products")),
            "{e}"
        );
        let e = classify(&resp(
            400,
            r#"{"errors":[{"code":41,"message":"parameter \"price\" required"}]}"#,
        ));
        match e {
            Error::Rejected(r) => {
                assert_eq!(r.code.as_deref(), Some("41"));
                assert!(r.message.contains("price"));
            }
            other => panic!("{other:?}"),
        }
        let e = classify(&resp(
            405,
            r#"{"errors":[{"code":23,"message":"Method PATCH is not valid"}]}"#,
        ));
        assert!(
            matches!(&e, Error::Protocol { message } if message.contains("1.7")),
            "{e}"
        );
        let xml = r#"<?xml version="1.0"?><prestashop><errors><error><code><![CDATA[22]]></code><message><![CDATA[The PrestaShop webservice is disabled. Please activate it in the PrestaShop Back Office]]></message></error></errors></prestashop>"#;
        assert!(matches!(classify(&resp(503, xml)), Error::Config { .. }));
        assert!(classify(&resp(503, "busy")).is_retryable());
        assert!(matches!(classify(&resp(404, "")), Error::NotFound { .. }));
    }

    #[test]
    fn filter_values() {
        assert!(fits_filter("KP-0001"));
        assert!(!fits_filter("A|B"));
        assert!(!fits_filter("A,B"));
        assert!(!fits_filter("[x]"));
        assert!(!fits_filter(" A"));
        assert_eq!(or_list(&["1", "2"]), "[1|2]");
    }

    #[test]
    fn index_lists_methods_per_resource() {
        let xml = br#"<?xml version="1.0"?><prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><api shopName="x"><products xlink:href="h" get="true" put="true" post="true" patch="false" delete="true" head="true"><description>The products</description></products><orders get="true" put="false" post="false" delete="false" head="true"/></api></prestashop>"#;
        let p = parse_index(xml).unwrap();
        assert!(p["products"].contains("PUT"));
        assert!(!p["products"].contains("PATCH"));
        assert_eq!(p["orders"], BTreeSet::from(["GET".to_owned(), "HEAD".to_owned()]));
    }
}
