//! Exact amounts and lenient ids through the wire types.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::*;
use rust_decimal_macros::dec;

#[derive(Deserialize)]
struct Amounts {
    #[serde(deserialize_with = "koppel_core::wire::decimal::de")]
    a: Decimal,
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    b: Option<Decimal>,
    #[serde(default, deserialize_with = "koppel_core::wire::decimal::de_opt")]
    c: Option<Decimal>,
}

#[test]
fn amounts_are_exact_from_numbers_and_strings() {
    // 0.1 + 0.2 style values and more digits than f64 holds survive exactly
    let v: Amounts = serde_json::from_str(r#"{"a": 12.10, "b": "0.30000000000000004", "c": null}"#).unwrap();
    assert_eq!(v.a, dec!(12.10));
    assert_eq!(v.a.to_string(), "12.10"); // the scale of the JSON text is kept
    assert_eq!(v.b, Some(dec!(0.30000000000000004)));
    assert_eq!(v.c, None);
    let v: Amounts = serde_json::from_str(r#"{"a": 1234567890.123456789012}"#).unwrap();
    assert_eq!(v.a, dec!(1234567890.123456789012)); // f64 would give ...1234567
    let v: Amounts = serde_json::from_str(r#"{"a": -6.78, "b": "", "c": 1.5e2}"#).unwrap();
    assert_eq!((v.a, v.b, v.c), (dec!(-6.78), None, Some(dec!(150))));
    assert!(serde_json::from_str::<Amounts>(r#"{"a": "abc"}"#).is_err());
    assert!(serde_json::from_str::<Amounts>(r#"{"a": true}"#).is_err());
}

#[test]
fn amounts_are_exact_through_the_core_response_reader() {
    // the core client parses through serde_path_to_error; raw values must survive that
    let resp = koppel_core::http::RawResponse {
        status: reqwest::StatusCode::OK,
        headers: Default::default(),
        body: br#"{"items":[{"entity_id":"7","grand_total":100.005,"items":[{"price":"8.2562"}]}],"total_count":1}"#.to_vec(),
    };
    let r: SearchResult<WireOrder> = resp.json().unwrap();
    assert_eq!(r.items[0].entity_id, 7);
    assert_eq!(r.items[0].grand_total, Some(dec!(100.005)));
    assert_eq!(r.items[0].items[0].price, Some(dec!(8.2562)));
}

#[test]
fn amounts_are_written_as_exact_numbers() {
    let p = ProductPayload {
        sku: "A".into(),
        price: Some(dec!(9.990)),
        weight: Some(dec!(0.1)),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&ProductEnvelope { product: &p }).unwrap(),
        r#"{"product":{"sku":"A","price":9.99,"weight":0.1}}"#
    );
    let items = [SourceItem {
        sku: "A".into(),
        source_code: "default".into(),
        quantity: dec!(12345678901234567890.5),
        status: 1,
    }];
    assert_eq!(
        serde_json::to_string(&SourceItemsEnvelope { source_items: &items }).unwrap(),
        r#"{"sourceItems":[{"sku":"A","source_code":"default","quantity":12345678901234567890.5,"status":1}]}"#
    );
}

#[test]
fn lenient_ids_flags_and_regions() {
    let a: WireAddress = serde_json::from_str(
        r#"{"id":"5","region":{"region":"Utrecht","region_id":0},"default_billing":true,"postcode":1234}"#,
    )
    .unwrap();
    assert_eq!(a.id, Some(5));
    assert_eq!(a.region.as_deref(), Some("Utrecht"));
    assert_eq!(a.postcode.as_deref(), Some("1234"));
    assert!(a.default_billing && !a.default_shipping);
    let o: OrderRef = serde_json::from_str(r#"{"entity_id": 3}"#).unwrap();
    assert_eq!(o.entity_id, 3);
    let l: CategoryLink = serde_json::from_str(r#"{"position":0,"category_id":"12"}"#).unwrap();
    assert_eq!(l.category_id, 12);
    assert_eq!(
        serde_json::to_string(&l).unwrap(),
        r#"{"position":0,"category_id":"12"}"#
    );
}
