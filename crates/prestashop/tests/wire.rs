//! The webservice wire format against wiremock (reference/webshops.md, section B): the key as
//! the HTTP Basic user with an empty password and never in the URL, JSON reads in the list
//! `display=full` shape, XML bodies on PUT/PATCH, the version from `PSWS-Version`, the key's
//! permissions from `GET /api/`, and error bodies (XML and JSON, 401) as clear errors.

use koppel_core::{
    Connector, Error, Money, Product, ReadRequest, Sku, TaxMode, VatRate, WriteItem, WriteOutcome,
};
use koppel_prestashop::models::{parse_xml, XmlNode};
use koppel_prestashop::PrestaShopConnector;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A webservice key of PrestaShop's format (32 letters and digits).
const KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
/// `Basic base64("<KEY>:")`: the key as user, the password empty.
const BASIC: &str = "Basic QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU6";

/// Every resource and method the connector's flows use.
const ALL: &[(&str, &[&str])] = &[
    ("products", &["get", "put", "post", "patch"]),
    ("combinations", &["get"]),
    ("categories", &["get", "post"]),
    ("stock_availables", &["get", "put", "patch"]),
    ("orders", &["get"]),
    ("order_details", &["get"]),
    ("addresses", &["get"]),
    ("customers", &["get"]),
    ("countries", &["get"]),
    ("currencies", &["get"]),
    ("order_histories", &["get", "post"]),
    ("messages", &["get", "post"]),
];

fn connector(server: &MockServer, extra: Value) -> PrestaShopConnector {
    let mut cfg = json!({
        "base_url": server.uri(),
        "key": KEY,
        "products": {"tax_rules_groups": {"21": 1}},
        "http": {"max_retries": 0},
    });
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    PrestaShopConnector::new(koppel_prestashop::parse(cfg).unwrap()).unwrap()
}

/// The `GET /api/` index (WebserviceOutputBuilder::getResourcesList): one element per resource
/// the key has, each method an attribute.
fn index_xml(perms: &[(&str, &[&str])]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><api shopName="wire">"#,
    );
    for (res, methods) in perms {
        s.push_str(&format!("<{res} xlink:href=\"http://shop/api/{res}\""));
        for m in ["get", "put", "post", "patch", "delete", "head"] {
            s.push_str(&format!(" {m}=\"{}\"", methods.contains(&m)));
        }
        s.push_str(&format!("><description>The {res}</description></{res}>"));
    }
    s.push_str("</api></prestashop>");
    s
}

/// Serves `GET /api/` with these permissions and, when given, this `PSWS-Version`.
async fn index(server: &MockServer, version: Option<&str>, perms: &[(&str, &[&str])]) {
    let mut r = ResponseTemplate::new(200).set_body_raw(index_xml(perms), "text/xml;charset=utf-8");
    if let Some(v) = version {
        r = r.insert_header("PSWS-Version", v);
    }
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(r)
        .mount(server)
        .await;
}

/// The shop's product `KP-1` in the list shape (`display=full`), as 8.x and 1.7 render it:
/// values as strings, multilingual fields as `[{id, value}]`, the read-only fields included.
fn shop_product() -> Value {
    json!({
        "id": 5, "id_manufacturer": "0", "id_category_default": "2", "id_tax_rules_group": "1",
        "reference": "KP-1", "price": "10.000000", "weight": "0.500000", "active": "1",
        "state": "1", "quantity": "7", "manufacturer_name": "Acme", "position_in_category": "3",
        "name": [{"id": "1", "value": "Mok"}, {"id": "2", "value": "Mug"}],
        "link_rewrite": [{"id": "1", "value": "mok"}, {"id": "2", "value": "mug"}],
        "associations": {"categories": [{"id": "2"}]}
    })
}

async fn product_list(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/products"))
        .and(query_param("output_format", "JSON"))
        .and(query_param("display", "full"))
        .and(query_param("filter[reference]", "[KP-1]"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"products": [shop_product()]})))
        .mount(server)
        .await;
}

/// SnelStart's article `KP-1` at a new price (12.50 instead of the shop's 10).
fn product() -> WriteItem<Product> {
    WriteItem::new(Product {
        sku: Sku::new("KP-1").unwrap(),
        name: "Mok".into(),
        price: Money::eur(dec!(12.50)),
        tax_mode: TaxMode::Exclusive,
        vat: Some(VatRate::new(dec!(21), None).unwrap()),
        active: true,
        unit: None,
        weight: Some(dec!(0.5)),
        category: Vec::new(),
        attributes: Default::default(),
        source_id: None,
        modified: None,
    })
}

/// Writes the product through the sink; the one result.
async fn write(c: &PrestaShopConnector) -> koppel_core::Result<WriteOutcome> {
    let sink = c.endpoints().product_sink.unwrap();
    sink.write_batch(&[product()]).await.remove(0)
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

/// The one write request of a method.
async fn the_write(server: &MockServer, m: &str) -> Request {
    let mut w: Vec<Request> = requests(server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == m)
        .collect();
    assert_eq!(w.len(), 1, "{m} requests: {w:?}");
    w.remove(0)
}

/// The `<product>` of an XML body; checks the body is an XML document under `<prestashop>`.
fn product_node(req: &Request) -> XmlNode {
    let ct = req
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        ct.as_deref().is_some_and(|c| c.starts_with("text/xml")),
        "content type {ct:?}"
    );
    let body = String::from_utf8(req.body.clone()).unwrap();
    assert!(body.starts_with("<?xml"), "{body}");
    let root = parse_xml(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(root.name, "prestashop", "{body}");
    assert_eq!(root.children.len(), 1, "{body}");
    root.child("product")
        .unwrap_or_else(|| panic!("no <product>: {body}"))
        .clone()
}

fn names(n: &XmlNode) -> Vec<&str> {
    n.children.iter().map(|c| c.name.as_str()).collect()
}

fn field<'a>(n: &'a XmlNode, name: &str) -> &'a str {
    &n.child(name)
        .unwrap_or_else(|| panic!("no <{name}> in {n:?}"))
        .text
}

/// Customers are read in the list shape with `output_format=JSON` and `display=full`, the key
/// goes as the Basic user with an empty password on every request, and never in the URL.
#[tokio::test]
async fn reads_are_json_lists_with_the_key_as_basic_user_never_in_the_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/customers"))
        .and(query_param("output_format", "JSON"))
        .and(query_param("display", "full"))
        .and(query_param("sort", "[id_ASC]"))
        .and(query_param("limit", "2"))
        .and(query_param("filter[is_guest]", "[0]"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"customers": [
            {"id": 11, "email": "an@example.nl", "firstname": "An", "lastname": "Jansen",
             "company": "", "is_guest": "0", "date_upd": "2024-05-01 10:00:00"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/countries"))
        .and(query_param("output_format", "JSON"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"countries": [{"id": 13, "iso_code": "NL"}, {"id": 3, "iso_code": "BE"}]}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/addresses"))
        .and(query_param("output_format", "JSON"))
        .and(query_param("display", "full"))
        .and(query_param("filter[id_customer]", "[11]"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"addresses": [
            {"id": "21", "id_customer": "11", "id_country": "13", "company": "Jansen B.V.",
             "vat_number": "NL001234567B01", "firstname": "An", "lastname": "Jansen",
             "address1": "Kerkstraat 1", "address2": "", "postcode": "4301 AB",
             "city": "Zierikzee", "phone": "0111-123456", "deleted": "0"}
        ]})))
        .mount(&server)
        .await;
    let c = connector(&server, json!({"customers": {"page_size": 2}}));
    let src = c.endpoints().customer_source.unwrap();
    let page = src.read(&ReadRequest::default()).await.unwrap();
    assert!(page.next.is_none(), "a short page is the last");
    assert_eq!(page.items.len(), 1, "{:?}", page.items);
    let cust = page.items[0].as_ref().unwrap();
    assert_eq!(cust.key, "11");
    assert_eq!(cust.email.as_deref(), Some("an@example.nl"));
    assert_eq!(cust.company.as_deref(), Some("Jansen B.V."));
    assert_eq!(cust.vat_number.as_deref(), Some("NL001234567B01"));
    let billing = cust.billing.as_ref().unwrap();
    assert_eq!(billing.country.as_ref().unwrap().as_str(), "NL");
    assert_eq!(billing.city, "Zierikzee");

    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    for r in &reqs {
        let auth = r.headers.get("authorization").map(|v| v.to_str().unwrap());
        assert_eq!(auth, Some(BASIC), "{}", r.url);
        let url = r.url.as_str();
        assert!(!url.contains("ws_key") && !url.contains(KEY), "{url}");
        assert!(
            r.url.query().unwrap_or("").contains("output_format=JSON"),
            "{url}"
        );
    }
}

/// An empty list is `[]` on PrestaShop (PrestaShop/PrestaShop#10172): no records, no next page.
#[tokio::test]
async fn an_empty_list_answer_is_an_empty_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/countries"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    let page = c
        .endpoints()
        .customer_source
        .unwrap()
        .read(&ReadRequest::default())
        .await
        .unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    assert!(
        requests(&server)
            .await
            .iter()
            .all(|r| r.url.path() != "/api/addresses"),
        "addresses read for no customers"
    );
}

/// 8.x (`PSWS-Version: 8.1.7`) with the PATCH permission: the update is a PATCH of an XML
/// `<prestashop><product>` holding the id and only the changed field.
#[tokio::test]
async fn an_8x_shop_gets_a_patch_with_only_the_changed_fields() {
    let server = MockServer::start().await;
    index(&server, Some("8.1.7"), ALL).await;
    product_list(&server).await;
    Mock::given(method("PATCH"))
        .and(path("/api/products"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"product": {"id": 5}})))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    assert_eq!(
        write(&c).await.unwrap(),
        WriteOutcome::Updated {
            target_id: "5".into()
        }
    );
    let req = the_write(&server, "PATCH").await;
    assert!(!req.url.as_str().contains("ws_key"), "{}", req.url);
    let p = product_node(&req);
    assert_eq!(names(&p), ["id", "price"], "{p:?}");
    assert_eq!(field(&p, "id"), "5");
    assert_eq!(field(&p, "price"), "12.5");
    assert!(
        requests(&server).await.iter().all(|r| r.method.as_str() != "PUT"),
        "a PUT on 8.x"
    );
}

/// 1.7 (`PSWS-Version: 1.7.8.11`) has no PATCH: the update is a complete PUT built from the
/// record as read, without the fields PrestaShop refuses on a write (`quantity`,
/// `manufacturer_name`, `position_in_category`), every language kept.
#[tokio::test]
async fn a_17_shop_gets_a_complete_put_without_the_read_only_fields() {
    let server = MockServer::start().await;
    index(&server, Some("1.7.8.11"), ALL).await;
    product_list(&server).await;
    Mock::given(method("PUT"))
        .and(path("/api/products"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"product": {"id": 5}})))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    assert_eq!(
        write(&c).await.unwrap(),
        WriteOutcome::Updated {
            target_id: "5".into()
        }
    );
    let p = product_node(&the_write(&server, "PUT").await);
    for gone in ["quantity", "manufacturer_name", "position_in_category"] {
        assert!(p.child(gone).is_none(), "<{gone}> sent on PUT: {:?}", names(&p));
    }
    // complete: every other field as the shop has it, the change applied
    for (f, v) in [
        ("id", "5"),
        ("reference", "KP-1"),
        ("id_category_default", "2"),
        ("id_tax_rules_group", "1"),
        ("weight", "0.500000"),
        ("active", "1"),
        ("state", "1"),
        ("price", "12.5"),
    ] {
        assert_eq!(field(&p, f), v, "{f}");
    }
    let name = p.child("name").unwrap();
    let langs: Vec<(&str, &str)> = name
        .children
        .iter()
        .map(|l| (l.attrs["id"].as_str(), l.text.as_str()))
        .collect();
    assert_eq!(langs, [("1", "Mok"), ("2", "Mug")]);
    assert!(
        requests(&server)
            .await
            .iter()
            .all(|r| r.method.as_str() != "PATCH"),
        "a PATCH on 1.7"
    );
}

/// A key made before the upgrade to 8 lacks the PATCH permission: koppel writes a complete
/// PUT, and `check` says so.
#[tokio::test]
async fn an_8x_key_without_patch_gets_a_complete_put_and_check_says_so() {
    let server = MockServer::start().await;
    let perms: Vec<(&str, &[&str])> = ALL
        .iter()
        .map(|(r, m)| match *r {
            "products" => (*r, &["get", "put", "post"][..]),
            _ => (*r, *m),
        })
        .collect();
    index(&server, Some("8.1.7"), &perms).await;
    product_list(&server).await;
    Mock::given(method("PUT"))
        .and(path("/api/products"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"product": {"id": 5}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/orders"))
        .and(query_param("limit", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"orders": [{"id": 1}]})))
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    write(&c).await.unwrap();
    let p = product_node(&the_write(&server, "PUT").await);
    assert_eq!(
        field(&p, "reference"),
        "KP-1",
        "not a complete PUT: {:?}",
        names(&p)
    );
    assert!(p.child("quantity").is_none());
    let report = c.check().await.unwrap();
    let text = report.checks.join("\n");
    assert!(text.contains("PrestaShop 8.1.7"), "{text}");
    assert!(
        text.contains("PATCH not granted on products") && !text.contains("stock_availables"),
        "{text}"
    );
}

/// Without a `PSWS-Version` header the version is unknown: an update fails saying so, unless
/// `version` forces it.
#[tokio::test]
async fn no_psws_version_header_is_an_error_unless_the_version_is_set() {
    let server = MockServer::start().await;
    index(&server, None, ALL).await;
    product_list(&server).await;
    Mock::given(method("PUT"))
        .and(path("/api/products"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"product": {"id": 5}})))
        .mount(&server)
        .await;
    let auto = connector(&server, json!({}));
    match write(&auto).await {
        Err(Error::Protocol { message }) => assert!(message.contains("PSWS-Version"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(requests(&server).await.iter().all(|r| r.method.as_str() == "GET"));
    let forced = connector(&server, json!({"version": "1.7"}));
    write(&forced).await.unwrap();
    the_write(&server, "PUT").await;
}

/// A write refused with an XML error body (what 1.7 answers to an XML request) and one with
/// a JSON error body (`output_format=JSON`) both become a rejection of that product, carrying
/// PrestaShop's code and message.
#[tokio::test]
async fn xml_and_json_error_bodies_reject_the_record_by_name() {
    let bodies = [
        (
            r#"<?xml version="1.0" encoding="UTF-8"?><prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><errors><error><code><![CDATA[41]]></code><message><![CDATA[parameter "price" required]]></message></error></errors></prestashop>"#,
            "text/xml;charset=utf-8",
            "41",
            "parameter \"price\" required",
        ),
        (
            r#"{"errors":[{"code":85,"message":"Validation error: \"Property Product->price is not valid\""}]}"#,
            "application/json",
            "85",
            "Property Product->price is not valid",
        ),
    ];
    for (body, ct, code, msg) in bodies {
        let server = MockServer::start().await;
        index(&server, Some("1.7.8.11"), ALL).await;
        product_list(&server).await;
        Mock::given(method("PUT"))
            .and(path("/api/products"))
            .respond_with(ResponseTemplate::new(400).set_body_raw(body, ct))
            .mount(&server)
            .await;
        let c = connector(&server, json!({}));
        match write(&c).await {
            Err(Error::Rejected(r)) => {
                assert_eq!(r.record, "product KP-1", "{r:?}");
                assert_eq!(r.code.as_deref(), Some(code), "{r:?}");
                assert!(r.message.contains(msg), "{r:?}");
            }
            other => panic!("{ct}: {other:?}"),
        }
    }
}

/// A 401 (unknown or disabled key, XML or JSON body) is an auth error saying what to fix, and
/// does not echo the key.
#[tokio::test]
async fn a_401_is_an_auth_error_saying_what_to_fix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", "Basic realm=\"Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required.\"")
                .set_body_raw(
                    r#"<?xml version="1.0" encoding="UTF-8"?><prestashop><errors><error><code><![CDATA[20]]></code><message><![CDATA[Authentification key is not active]]></message></error><error><code><![CDATA[21]]></code><message><![CDATA[No permission for this authentication key]]></message></error></errors></prestashop>"#,
                    "text/xml;charset=utf-8",
                ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/customers"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"errors": [{"code": 18, "message": "Invalid authentication key format"}]}),
            ),
        )
        .mount(&server)
        .await;
    let c = connector(&server, json!({}));
    match c.check().await {
        Err(Error::Auth { message }) => {
            assert!(message.contains("HTTP 401"), "{message}");
            assert!(
                message.contains("Authentification key is not active"),
                "{message}"
            );
            assert!(message.contains("unknown or disabled"), "{message}");
            assert!(!message.contains(KEY), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let src = c.endpoints().customer_source.unwrap();
    match src.read(&ReadRequest::default()).await {
        Err(Error::Auth { message }) => assert!(message.contains("32 characters"), "{message}"),
        other => panic!("{other:?}"),
    }
}

/// `check` reads the key's permissions from `GET /api/` and names every resource and method
/// the configured flows need and the key lacks.
#[tokio::test]
async fn check_names_the_permissions_the_key_lacks() {
    let server = MockServer::start().await;
    let perms: Vec<(&str, &[&str])> = ALL
        .iter()
        .filter(|(r, _)| *r != "messages")
        .map(|(r, m)| match *r {
            "order_histories" => (*r, &["get"][..]),
            _ => (*r, *m),
        })
        .collect();
    index(&server, Some("8.1.7"), &perms).await;
    let c = connector(&server, json!({"payments": {"state": 2}}));
    match c.check().await {
        Err(Error::Config { path, message }) => {
            assert_eq!(path, "key");
            assert!(
                message.contains("order_histories POST")
                    && message.contains("messages GET")
                    && message.contains("messages POST"),
                "{message}"
            );
            assert!(!message.contains("products"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // nothing else was asked once the permissions fell short
    let reqs = requests(&server).await;
    assert!(reqs.iter().all(|r| r.url.path() == "/api/"), "{reqs:?}");
}
