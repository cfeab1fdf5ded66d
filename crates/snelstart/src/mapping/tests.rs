use chrono::{NaiveDate, TimeZone, Utc};
use koppel_core::{Address, Currency, Customer, Money, Order, Sku, TaxMode, VatKind, VatRate};
use rust_decimal::Decimal;

use crate::models::{Artikel, BtwTarief, CompanyInfo, IdRef, Land, Omzetgroep, Verkoopfactuur};

use super::*;
use crate::config::{
    CategorySource, OrdersConfig, ProductsConfig, StockKind, VatMismatch, WeightSource, WeightUnit,
};
use crate::models::ExtraVeld;

use koppel_core::{Charge, CountryCode, OrderLine};
use rust_decimal_macros::dec;
use serde_json::json;

const HOOG: &str = "11111111-0000-0000-0000-000000000001";
const LAAG: &str = "11111111-0000-0000-0000-000000000002";
const NL: &str = "22222222-0000-0000-0000-000000000001";
const BE: &str = "22222222-0000-0000-0000-000000000002";

fn refs() -> RefData {
    let groups = vec![
        Omzetgroep {
            id: Some(HOOG.into()),
            nummer: Some(1),
            omschrijving: Some("Omzet hoog".into()),
            verkoop_nederland_btw_soort: Some("Hoog".into()),
        },
        Omzetgroep {
            id: Some(LAAG.into()),
            nummer: Some(2),
            omschrijving: Some("Omzet laag".into()),
            verkoop_nederland_btw_soort: Some("Laag".into()),
        },
    ];
    let t = |soort: &str, pct: Decimal, from: &str, to: Option<&str>| BtwTarief {
        btw_soort: Some(soort.into()),
        btw_percentage: Some(pct),
        datum_vanaf: Some(from.into()),
        datum_tot_en_met: to.map(Into::into),
    };
    let tarieven = vec![
        t(
            "Laag",
            dec!(6),
            "2001-01-01T00:00:00",
            Some("2018-12-31T00:00:00"),
        ),
        t("Laag", dec!(9), "2019-01-01T00:00:00", None),
        t("Hoog", dec!(21), "2012-10-01T00:00:00", None),
    ];
    let landen = vec![
        Land {
            id: Some(NL.into()),
            naam: Some("Nederland".into()),
            landcode_iso: Some("NL".into()),
            landcode: Some("NL".into()),
        },
        Land {
            id: Some(BE.into()),
            naam: Some("België".into()),
            landcode_iso: Some("BE".into()),
            landcode: Some("B".into()),
        },
    ];
    RefData::new(groups, tarieven, landen, &CompanyInfo::default())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn timestamps_are_dutch_local_time() {
    // summer: UTC+2
    let t = parse_timestamp("2023-06-29T21:44:48.51").unwrap();
    assert_eq!(
        t,
        Utc.with_ymd_and_hms(2023, 6, 29, 19, 44, 48).unwrap() + chrono::Duration::milliseconds(510)
    );
    // winter: UTC+1
    let t = parse_timestamp("2024-01-15T10:00:00").unwrap();
    assert_eq!(t, Utc.with_ymd_and_hms(2024, 1, 15, 9, 0, 0).unwrap());
    // an explicit offset is honoured
    assert_eq!(
        parse_timestamp("2024-01-15T10:00:00Z").unwrap(),
        Utc.with_ymd_and_hms(2024, 1, 15, 10, 0, 0).unwrap()
    );
    assert!(parse_timestamp("gisteren").is_none());
    // and back
    assert_eq!(format_filter_time(t), "2024-01-15T10:00:00.000");
    assert_eq!(
        format_send_time(Utc.with_ymd_and_hms(2024, 7, 1, 22, 30, 0).unwrap()),
        "2024-07-02T00:30:00"
    );
    // the ambiguous autumn hour takes the earlier instant
    let t = parse_timestamp("2024-10-27T02:30:00").unwrap();
    assert_eq!(t, Utc.with_ymd_and_hms(2024, 10, 27, 0, 30, 0).unwrap());
    // the skipped spring hour maps to just after the gap
    let t = parse_timestamp("2024-03-31T02:30:00").unwrap();
    assert_eq!(t, Utc.with_ymd_and_hms(2024, 3, 31, 1, 30, 0).unwrap());
}

#[test]
fn filters_and_literals() {
    assert_eq!(odata_string("O'Brien"), "'O''Brien'");
    let since = Utc.with_ymd_and_hms(2024, 1, 15, 9, 0, 0).unwrap();
    let until = Utc.with_ymd_and_hms(2024, 7, 1, 10, 0, 0).unwrap();
    assert_eq!(
        modified_filter(Some(since), Some(until)).unwrap(),
        "ModifiedOn gt datetime'2024-01-15T10:00:00.000' and ModifiedOn le datetime'2024-07-01T12:00:00.000'"
    );
    assert_eq!(modified_filter(None, None), None);
}

#[test]
fn dutch_decimals() {
    assert_eq!(parse_decimal_nl("0,250"), Some(dec!(0.250)));
    assert_eq!(parse_decimal_nl(" 1.234,5 "), Some(dec!(1234.5)));
    assert_eq!(parse_decimal_nl("1,234.5"), Some(dec!(1234.5)));
    assert_eq!(parse_decimal_nl("0.25"), Some(dec!(0.25)));
    assert_eq!(parse_decimal_nl("12"), Some(dec!(12)));
    assert_eq!(parse_decimal_nl("1,2,3"), None);
    assert_eq!(parse_decimal_nl("zwaar"), None);
    assert_eq!(parse_decimal_nl(""), None);
}

#[test]
fn vat_rates_by_date() {
    let r = refs();
    assert_eq!(
        r.vat_rate(VatKind::Laag, date(2018, 6, 1)).unwrap().percentage,
        dec!(6)
    );
    assert_eq!(
        r.vat_rate(VatKind::Laag, date(2019, 1, 1)).unwrap().percentage,
        dec!(9)
    );
    assert_eq!(
        r.vat_rate(VatKind::Hoog, date(2024, 1, 1)).unwrap().percentage,
        dec!(21)
    );
    assert_eq!(
        r.vat_rate(VatKind::Geen, date(2024, 1, 1)).unwrap().percentage,
        dec!(0)
    );
    assert!(r.vat_rate(VatKind::Overig, date(2024, 1, 1)).is_none());
    assert!(r.vat_rate(VatKind::Hoog, date(2000, 1, 1)).is_none());
}

fn artikel() -> Artikel {
    Artikel {
        id: Some("aaaaaaaa-0000-0000-0000-000000000001".into()),
        artikelcode: Some("KP-0001".into()),
        omschrijving: Some("Koffiebonen 1kg".into()),
        artikel_omzetgroep: Some(IdRef::new(LAAG)),
        verkoopprijs: Some(dec!(12.50)),
        eenheid: Some("stuk".into()),
        modified_on: Some("2024-01-15T10:00:00".into()),
        is_non_actief: Some(false),
        voorraad_controle: Some(true),
        technische_voorraad: Some(dec!(10)),
        vrije_voorraad: Some(dec!(7)),
        extra_velden: Some(vec![
            ExtraVeld {
                naam: Some("Gewicht".into()),
                waarde: Some("0,250".into()),
            },
            ExtraVeld {
                naam: Some("Categorie".into()),
                waarde: Some("Koffie / Bonen".into()),
            },
            ExtraVeld {
                naam: Some("Kleur".into()),
                waarde: Some("bruin".into()),
            },
            ExtraVeld {
                naam: Some("Leeg".into()),
                waarde: Some("  ".into()),
            },
        ]),
    }
}

fn products_cfg() -> ProductsConfig {
    ProductsConfig {
        weight: Some(WeightSource {
            extra_field: "Gewicht".into(),
            unit: WeightUnit::Kg,
        }),
        category: Some(CategorySource {
            extra_field: Some("Categorie".into()),
            omzetgroep: false,
            separator: "/".into(),
        }),
        attributes: [
            ("color".to_owned(), "Kleur".to_owned()),
            ("empty".to_owned(), "Leeg".to_owned()),
        ]
        .into_iter()
        .collect(),
        exclude: Vec::new(),
    }
}

#[test]
fn article_becomes_product() {
    let p = article_to_product(&artikel(), &refs(), &products_cfg(), date(2024, 1, 15)).unwrap();
    assert_eq!(p.sku.as_str(), "KP-0001");
    assert_eq!(p.name, "Koffiebonen 1kg");
    assert_eq!(p.price, Money::eur(dec!(12.50)));
    assert_eq!(p.tax_mode, TaxMode::Exclusive);
    assert_eq!(
        p.vat,
        Some(VatRate {
            percentage: dec!(9),
            kind: Some(VatKind::Laag)
        })
    );
    assert!(p.active);
    assert_eq!(p.unit.as_deref(), Some("stuk"));
    assert_eq!(p.weight, Some(dec!(0.250)));
    assert_eq!(p.category, vec!["Koffie", "Bonen"]);
    assert_eq!(p.attributes.get("color").map(String::as_str), Some("bruin"));
    assert!(!p.attributes.contains_key("empty"));
    assert_eq!(
        p.modified,
        Some(Utc.with_ymd_and_hms(2024, 1, 15, 9, 0, 0).unwrap())
    );

    // grams, group as category, inactive
    let mut a = artikel();
    a.is_non_actief = Some(true);
    a.extra_velden.as_mut().unwrap()[0].waarde = Some("250".into());
    let cfg = ProductsConfig {
        weight: Some(WeightSource {
            extra_field: "gewicht".into(),
            unit: WeightUnit::G,
        }),
        category: Some(CategorySource {
            extra_field: None,
            omzetgroep: true,
            separator: "/".into(),
        }),
        attributes: Default::default(),
        exclude: Vec::new(),
    };
    let p = article_to_product(&a, &refs(), &cfg, date(2024, 1, 15)).unwrap();
    assert!(!p.active);
    assert_eq!(p.weight, Some(dec!(0.25)));
    assert_eq!(p.category, vec!["Omzet laag"]);
}

#[test]
fn unmappable_articles_are_rejections_naming_article_and_field() {
    let r = refs();
    let cfg = products_cfg();
    let d = date(2024, 1, 15);
    let mut a = artikel();
    a.extra_velden.as_mut().unwrap()[0].waarde = Some("zwaar".into());
    let e = article_to_product(&a, &r, &cfg, d).unwrap_err();
    assert_eq!(
        (e.record.as_str(), e.field.as_deref()),
        ("article KP-0001", Some("extraVelden.Gewicht"))
    );

    let mut a = artikel();
    a.artikel_omzetgroep = None;
    let e = article_to_product(&a, &r, &cfg, d).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("artikelOmzetgroep"));

    let mut a = artikel();
    a.artikel_omzetgroep = Some(IdRef::new("99999999-0000-0000-0000-000000000000"));
    let e = article_to_product(&a, &r, &cfg, d).unwrap_err();
    assert!(e.message.contains("unknown"), "{e}");

    let mut a = artikel();
    a.artikelcode = Some(" KP 1".into());
    let e = article_to_product(&a, &r, &cfg, d).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("artikelcode"));
    assert_eq!(e.record, "article  KP 1");

    let mut a = artikel();
    a.verkoopprijs = None;
    assert_eq!(
        article_to_product(&a, &r, &cfg, d).unwrap_err().field.as_deref(),
        Some("verkoopprijs")
    );

    let mut a = artikel();
    a.modified_on = Some("gisteren".into());
    assert_eq!(
        article_to_product(&a, &r, &cfg, d).unwrap_err().field.as_deref(),
        Some("modifiedOn")
    );

    let mut a = artikel();
    a.verkoopprijs = Some(dec!(-1));
    assert_eq!(
        article_to_product(&a, &r, &cfg, d).unwrap_err().field.as_deref(),
        Some("price.amount")
    );
}

#[test]
fn inclusive_price_administrations_are_respected() {
    let mut r = refs();
    r.prices_exclusive = false;
    let p = article_to_product(&artikel(), &r, &ProductsConfig::default(), date(2024, 1, 15)).unwrap();
    assert_eq!(p.tax_mode, TaxMode::Inclusive);
    assert_eq!(p.weight, None);
    assert!(p.category.is_empty());
}

#[test]
fn stock_levels() {
    let a = artikel();
    assert_eq!(
        article_to_stock(&a, StockKind::Technical, true)
            .unwrap()
            .unwrap()
            .quantity,
        dec!(10)
    );
    assert_eq!(
        article_to_stock(&a, StockKind::Free, true)
            .unwrap()
            .unwrap()
            .quantity,
        dec!(7)
    );
    let mut untracked = artikel();
    untracked.voorraad_controle = Some(false);
    assert_eq!(
        article_to_stock(&untracked, StockKind::Technical, true).unwrap(),
        None
    );
    assert!(article_to_stock(&untracked, StockKind::Technical, false)
        .unwrap()
        .is_some());
    let mut missing = artikel();
    missing.vrije_voorraad = None;
    assert_eq!(
        article_to_stock(&missing, StockKind::Free, true)
            .unwrap_err()
            .field
            .as_deref(),
        Some("vrijeVoorraad")
    );
}

fn address() -> Address {
    Address {
        first_name: Some("Jan".into()),
        last_name: Some("Jansen".into()),
        company: None,
        street: vec!["Dorpsstraat 1".into(), "bis".into()],
        postcode: "1234 AB".into(),
        city: "Utrecht".into(),
        region: None,
        country: Some(CountryCode::new("NL").unwrap()),
        phone: Some("030-1234567".into()),
    }
}

fn customer() -> Customer {
    Customer {
        key: "7".into(),
        email: Some("jan@example.nl".into()),
        first_name: Some("Jan".into()),
        last_name: Some("Jansen".into()),
        company: Some("Jansen B.V.".into()),
        phone: None,
        vat_number: Some("nl 1234.56789.B01".into()),
        kvk_number: Some("1234 5678".into()),
        billing: Some(address()),
        shipping: None,
        is_guest: false,
        modified: None,
    }
}

#[test]
fn customer_becomes_relatie() {
    let r = customer_to_relatie(&customer(), &refs()).unwrap();
    assert_eq!(r.relatiesoort, vec!["Klant"]);
    assert_eq!(r.naam, "Jansen B.V.");
    let adres = r.vestigings_adres.clone().unwrap();
    assert_eq!(adres.contactpersoon.as_deref(), Some("Jan Jansen"));
    assert_eq!(adres.straat.as_deref(), Some("Dorpsstraat 1 bis"));
    assert_eq!(adres.postcode.as_deref(), Some("1234 AB"));
    assert_eq!(adres.land, Some(IdRef::new(NL)));
    assert_eq!(r.telefoon.as_deref(), Some("030-1234567"));
    assert_eq!(r.btw_nummer.as_deref(), Some("NL123456789B01"));
    assert_eq!(r.kvk_nummer.as_deref(), Some("12345678"));
    // on the wire: camelCase, absent options left out
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["vestigingsAdres"]["land"]["id"], NL);
    assert_eq!(json["btwNummer"], "NL123456789B01");

    // a person without company: the person is the naam, no contactpersoon
    let mut c = customer();
    c.company = None;
    let r = customer_to_relatie(&c, &refs()).unwrap();
    assert_eq!(r.naam, "Jan Jansen");
    assert_eq!(r.vestigings_adres.unwrap().contactpersoon, None);
}

#[test]
fn relatie_overflow_is_rejected_naming_field_and_limit() {
    let r = refs();
    let mut c = customer();
    c.company = Some("X".repeat(51));
    let e = customer_to_relatie(&c, &r).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("company"));
    assert!(
        e.message.contains("51 characters") && e.message.contains("at most 50"),
        "{e}"
    );

    let mut c = customer();
    c.billing.as_mut().unwrap().street = vec!["Y".repeat(30), "Z".repeat(30)];
    assert_eq!(
        customer_to_relatie(&c, &r).unwrap_err().field.as_deref(),
        Some("billing.street")
    );

    let mut c = customer();
    c.billing.as_mut().unwrap().postcode = "9".repeat(26);
    assert_eq!(
        customer_to_relatie(&c, &r).unwrap_err().field.as_deref(),
        Some("billing.postcode")
    );

    let mut c = customer();
    c.billing.as_mut().unwrap().country = Some(CountryCode::new("FR").unwrap());
    let e = customer_to_relatie(&c, &r).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("billing.country"));

    let mut c = customer();
    c.kvk_number = Some("1234567890123".into());
    assert_eq!(
        customer_to_relatie(&c, &r).unwrap_err().field.as_deref(),
        Some("kvk_number")
    );

    let mut c = customer();
    c.vat_number = Some("NL-12/34".into());
    assert_eq!(
        customer_to_relatie(&c, &r).unwrap_err().field.as_deref(),
        Some("vat_number")
    );

    let mut c = customer();
    c.phone = Some("0".repeat(26));
    assert_eq!(
        customer_to_relatie(&c, &r).unwrap_err().field.as_deref(),
        Some("phone")
    );

    // exactly at the limit is fine
    let mut c = customer();
    c.company = Some("X".repeat(50));
    assert!(customer_to_relatie(&c, &r).is_ok());
}

#[test]
fn merge_keeps_snelstart_fields_and_detects_no_change() {
    let desired = customer_to_relatie(&customer(), &refs()).unwrap();
    let existing = json!({
        "id": "rel-1",
        "relatiesoort": ["Klant"],
        "relatiecode": 1042,
        "naam": "Jansen B.V.",
        "email": "JAN@example.nl",
        "telefoon": "030-1234567",
        "btwNummer": "NL123456789B01",
        "kvkNummer": "12345678",
        "iban": "NL91ABNA0417164300",
        "fax": "030-1111111",
        "vestigingsAdres": {
            "contactpersoon": "Jan Jansen",
            "straat": "Dorpsstraat 1 bis",
            "postcode": "1234 AB",
            "plaats": "Utrecht",
            "land": { "id": NL, "uri": "/landen/x" }
        }
    });
    assert_eq!(merge_relatie(&existing, &desired), None);

    let mut c = customer();
    c.email = Some("nieuw@example.nl".into());
    c.billing.as_mut().unwrap().city = "Amersfoort".into();
    let desired = customer_to_relatie(&c, &refs()).unwrap();
    let merged = merge_relatie(&existing, &desired).unwrap();
    assert_eq!(merged["email"], "nieuw@example.nl");
    assert_eq!(merged["vestigingsAdres"]["plaats"], "Amersfoort");
    assert_eq!(merged["vestigingsAdres"]["land"]["uri"], "/landen/x");
    assert_eq!(merged["iban"], "NL91ABNA0417164300");
    assert_eq!(merged["relatiecode"], 1042);
    assert_eq!(merged["id"], "rel-1");
    // the read-only `fax` is not sent back (RelatieWriteModel does not declare it)
    assert!(merged.get("fax").is_none());

    // what the shop does not know is not cleared
    let mut c = customer();
    c.kvk_number = None;
    let desired = customer_to_relatie(&c, &refs()).unwrap();
    assert_eq!(merge_relatie(&existing, &desired), None);
}

fn line(sku: &str, qty: Decimal, unit: Decimal, discount: Decimal, row: Decimal, vat: Decimal) -> OrderLine {
    OrderLine {
        sku: Some(Sku::new(sku).unwrap()),
        name: format!("Artikel {sku}"),
        quantity: qty,
        unit_price: unit,
        vat_percentage: Some(vat),
        discount,
        row_total: row,
        tax: None,
        tax_base: None,
    }
}

fn order() -> Order {
    Order {
        number: "100023".into(),
        source_id: Some("23".into()),
        created_at: Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap(),
        modified: None,
        status: "processing".into(),
        currency: Currency::eur(),
        tax_mode: TaxMode::Inclusive,
        customer: customer(),
        billing: address(),
        shipping: Some(Address {
            company: Some("Jansen B.V.".into()),
            ..address()
        }),
        lines: vec![
            line("KP-0001", dec!(2), dec!(12.10), dec!(0), dec!(24.20), dec!(21)),
            line("KP-0002", dec!(3), dec!(5.45), dec!(1.00), dec!(15.35), dec!(9)),
        ],
        shipping_cost: Some(Charge {
            description: "Verzending - PostNL".into(),
            amount: dec!(4.95),
            vat_percentage: Some(dec!(21)),
            tax: None,
        }),
        payment_cost: None,
        fees: Vec::new(),
        discount: dec!(0),
        payment_method: Some("ideal".into()),
        grand_total: dec!(44.50),
        tax_total: dec!(0),
        vat_rounding: Default::default(),
        replaces: Vec::new(),
        cancelled: false,
        note: None,
    }
}

fn art(id: &str, code: &str, pct: Decimal) -> LineArticle {
    LineArticle {
        id: id.into(),
        code: code.into(),
        vat: VatRate::new(pct, None).unwrap(),
    }
}

fn inputs<'a>(r: &'a RefData, cfg: &'a OrdersConfig) -> OrderInputs<'a> {
    OrderInputs {
        relatie_id: "rel-1".into(),
        lines: vec![art("a1", "KP-0001", dec!(21)), art("a2", "KP-0002", dec!(9))],
        shipping_article: Some(art("ship", "VERZEND", dec!(21))),
        payment_article: None,
        discount_article: None,
        fee_article: None,
        refs: r,
        config: cfg,
    }
}

#[test]
fn order_becomes_verkooporder_with_exact_totals() {
    let r = refs();
    let cfg = OrdersConfig::default();
    let plan = order_to_verkooporder(&order(), &inputs(&r, &cfg)).unwrap();
    let b = &plan.body;
    assert_eq!(b.orderreferentie, "100023");
    assert_eq!(b.relatie, IdRef::new("rel-1"));
    assert_eq!(b.proces_status, "Order");
    assert_eq!(b.verkooporder_btw_ingave_model, "Inclusief");
    assert_eq!(b.datum, "2024-03-01T13:00:00");
    assert_eq!(b.omschrijving, "Webshop order 100023");
    assert_eq!(
        b.afleveradres.as_ref().unwrap().contactpersoon.as_deref(),
        Some("Jansen B.V., Jan Jansen")
    );
    assert_eq!(
        b.factuuradres.as_ref().unwrap().contactpersoon.as_deref(),
        Some("Jan Jansen")
    );
    // line 0: plain; line 1: 3 x 5.45 - 1.00 = 15.35 -> 5.1167 doesn't give 15.35 at 2 decimals,
    // so the line is split into 3 x 5.45 = 16.35 and a correction of -1.00 on the same article
    assert_eq!(b.regels.len(), 4);
    assert_eq!(
        (b.regels[0].stuksprijs, b.regels[0].totaal),
        (dec!(12.10), dec!(24.20))
    );
    assert_eq!(
        (b.regels[1].stuksprijs, b.regels[1].aantal, b.regels[1].totaal),
        (dec!(5.45), dec!(3), dec!(16.35))
    );
    assert_eq!(b.regels[2].artikel, Some(IdRef::new("a2")));
    assert_eq!(
        (b.regels[2].stuksprijs, b.regels[2].totaal),
        (dec!(-1.00), dec!(-1.00))
    );
    assert_eq!(b.regels[3].artikel, Some(IdRef::new("ship")));
    assert_eq!(b.regels[3].totaal, dec!(4.95));
    let sum: Decimal = b.regels.iter().map(|r| r.totaal).sum();
    assert_eq!(sum, dec!(44.50));
    assert_eq!(plan.total_incl, dec!(44.50));
    // amounts go out as JSON numbers
    let json = serde_json::to_value(b).unwrap();
    assert_eq!(json["regels"][0]["stuksprijs"], json!(12.1));
    assert_eq!(json["verkooporderBtwIngaveModel"], "Inclusief");
}

#[test]
fn divisible_discounts_are_priced_into_the_unit_price() {
    let r = refs();
    let cfg = OrdersConfig::default();
    let mut o = order();
    // 4 x 5.00 - 2.00 = 18.00 -> 4.50 each
    o.lines[1] = line("KP-0002", dec!(4), dec!(5.00), dec!(2.00), dec!(18.00), dec!(9));
    o.grand_total = dec!(24.20) + dec!(18.00) + dec!(4.95);
    let plan = order_to_verkooporder(&o, &inputs(&r, &cfg)).unwrap();
    assert_eq!(plan.body.regels.len(), 3);
    assert_eq!(
        (plan.body.regels[1].stuksprijs, plan.body.regels[1].totaal),
        (dec!(4.50), dec!(18.00))
    );
}

#[test]
fn total_mismatch_is_rejected_with_both_totals() {
    let r = refs();
    let cfg = OrdersConfig::default();
    let mut o = order();
    o.grand_total = dec!(44.51);
    let e = order_to_verkooporder(&o, &inputs(&r, &cfg)).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("grand_total"));
    assert!(e.message.contains("44.50") && e.message.contains("44.51"), "{e}");
}

#[test]
fn vat_mismatch_quarantines_or_warns() {
    let r = refs();
    let mut o = order();
    o.lines[1].vat_percentage = Some(dec!(21));
    let cfg = OrdersConfig::default();
    let e = order_to_verkooporder(&o, &inputs(&r, &cfg)).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("lines[1].vat_percentage"));
    assert!(e.message.contains("21") && e.message.contains("9 %"), "{e}");
    let cfg = OrdersConfig {
        vat_mismatch: VatMismatch::Warn,
        ..OrdersConfig::default()
    };
    let plan = order_to_verkooporder(&o, &inputs(&r, &cfg)).unwrap();
    assert_eq!(plan.warnings.len(), 1);
    // 21.00 equals 21
    let mut o = order();
    o.lines[0].vat_percentage = Some(dec!(21.00));
    assert!(order_to_verkooporder(&o, &inputs(&r, &OrdersConfig::default())).is_ok());
}

#[test]
fn charges_and_discount_without_articles_become_text_lines() {
    let r = refs();
    let cfg = OrdersConfig {
        priced_text_lines: true,
        ..OrdersConfig::default()
    };
    let mut o = order();
    o.discount = dec!(2.50);
    o.payment_cost = Some(Charge {
        description: "iDEAL".into(),
        amount: dec!(0.35),
        vat_percentage: Some(dec!(21)),
        tax: None,
    });
    o.grand_total = dec!(44.50) - dec!(2.50) + dec!(0.35);
    let mut inp = inputs(&r, &cfg);
    inp.shipping_article = None;
    let plan = order_to_verkooporder(&o, &inp).unwrap();
    let texts: Vec<_> = plan.body.regels.iter().filter(|r| r.artikel.is_none()).collect();
    assert_eq!(texts.len(), 3);
    assert_eq!(texts[0].omschrijving, "Verzending - PostNL");
    assert_eq!(texts[2].totaal, dec!(-2.50));
    assert_eq!(plan.total_incl, dec!(42.35));
    // by default such an order is refused, naming the setting
    let cfg = OrdersConfig::default();
    let mut inp = inputs(&r, &cfg);
    inp.shipping_article = None;
    let e = order_to_verkooporder(&o, &inp).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("shipping_cost"));
    assert!(e.message.contains("orders.shipping_article"), "{e}");
    let mut inp = inputs(&r, &cfg);
    inp.discount_article = None;
    o.payment_cost = None;
    o.grand_total -= dec!(0.35);
    let e = order_to_verkooporder(&o, &inp).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("discount"));
}

#[test]
fn exclusive_orders_add_vat_per_rate() {
    let r = refs();
    let cfg = OrdersConfig::default();
    let mut o = order();
    o.tax_mode = TaxMode::Exclusive;
    o.lines = vec![
        line("KP-0001", dec!(1), dec!(10.00), dec!(0), dec!(10.00), dec!(21)),
        line("KP-0002", dec!(1), dec!(10.00), dec!(0), dec!(10.00), dec!(9)),
    ];
    o.shipping_cost = None;
    // 20.00 + 2.10 + 0.90
    o.grand_total = dec!(23.00);
    let plan = order_to_verkooporder(&o, &inputs(&r, &cfg)).unwrap();
    assert_eq!(plan.body.verkooporder_btw_ingave_model, "Exclusief");
    assert_eq!(plan.total_incl, dec!(23.00));
    // VAT is rounded per rate, not per line
    assert_eq!(
        snelstart_total(
            &[(dec!(0.05), dec!(21)), (dec!(0.05), dec!(21))],
            TaxMode::Exclusive
        ),
        dec!(0.12)
    );
}

#[test]
fn order_field_limits() {
    let r = refs();
    let cfg = OrdersConfig::default();
    let mut o = order();
    o.number = "N".repeat(51);
    assert_eq!(
        order_to_verkooporder(&o, &inputs(&r, &cfg))
            .unwrap_err()
            .field
            .as_deref(),
        Some("number")
    );
    let mut o = order();
    o.shipping.as_mut().unwrap().company = Some("C".repeat(45));
    assert_eq!(
        order_to_verkooporder(&o, &inputs(&r, &cfg))
            .unwrap_err()
            .field
            .as_deref(),
        Some("shipping.company")
    );
    let mut o = order();
    o.currency = Currency::new("USD").unwrap();
    assert_eq!(
        order_to_verkooporder(&o, &inputs(&r, &cfg))
            .unwrap_err()
            .field
            .as_deref(),
        Some("currency")
    );
}

#[test]
fn invoices_become_open_amounts_and_payments() {
    let f = Verkoopfactuur {
        id: Some("f1".into()),
        factuurnummer: Some("2024-0001".into()),
        verval_datum: Some("2024-04-01T00:00:00".into()),
        factuur_bedrag: Some(dec!(44.50)),
        openstaand_saldo: Some(dec!(14.50)),
        verkoop_orders: Some(vec![IdRef::new("o1")]),
        modified_on: Some("2024-03-02T10:00:00".into()),
    };
    let oa = invoice_to_open_amount(&f, "100023").unwrap();
    assert_eq!(oa.open_amount, Money::eur(dec!(14.50)));
    assert_eq!(oa.due_date, Some(date(2024, 4, 1)));
    let p = invoice_to_payment(&f, "100023").unwrap();
    assert!(!p.paid);
    assert_eq!(p.paid_amount, Money::eur(dec!(30.00)));
    let paid = Verkoopfactuur {
        openstaand_saldo: Some(dec!(0)),
        ..f.clone()
    };
    assert!(invoice_to_payment(&paid, "100023").unwrap().paid);
    let broken = Verkoopfactuur {
        openstaand_saldo: None,
        ..f
    };
    let e = invoice_to_open_amount(&broken, "100023").unwrap_err();
    assert_eq!(
        (e.record.as_str(), e.field.as_deref()),
        ("invoice 2024-0001", Some("openstaandSaldo"))
    );
}

#[test]
fn wire_types_tolerate_nulls_and_strings() {
    let a: Artikel = serde_json::from_value(json!({
        "id": "x", "artikelcode": "A", "verkoopprijs": "12.5", "eenheid": null,
        "technischeVoorraad": 3.25, "extraVelden": null, "unknownField": 1
    }))
    .unwrap();
    assert_eq!(a.verkoopprijs, Some(dec!(12.5)));
    assert_eq!(a.technische_voorraad, Some(dec!(3.25)));
    assert_eq!(a.eenheid, None);
    let l: Land = serde_json::from_value(json!({ "id": "x", "landcodeISO": "NL" })).unwrap();
    assert_eq!(l.landcode_iso.as_deref(), Some("NL"));
}

#[test]
fn vat_is_judged_on_amounts_not_rebuilt_percentages() {
    // the case: only 9 % lines, shipping 4.95 incl. with 0.86 VAT (4.09 excl.); the
    // percentage rebuilt from those cents is 21.03, yet it is exactly what 21 % gives
    let r = refs();
    let cfg = OrdersConfig::default();
    let mut o = order();
    o.lines = vec![line(
        "KP-0002",
        dec!(3),
        dec!(5.45),
        dec!(0),
        dec!(16.35),
        dec!(9),
    )];
    o.lines[0].tax = Some(dec!(1.35));
    let ship = o.shipping_cost.as_mut().unwrap();
    ship.vat_percentage = Some(dec!(21.03));
    ship.tax = Some(dec!(0.86));
    o.grand_total = dec!(16.35) + dec!(4.95);
    let mut inp = inputs(&r, &cfg);
    inp.lines = vec![art("a2", "KP-0002", dec!(9))];
    let plan = order_to_verkooporder(&o, &inp).unwrap();
    assert_eq!(plan.total_incl, dec!(21.30));

    // a shipping VAT no rate explains is rejected naming the amounts and the rates tried
    o.shipping_cost.as_mut().unwrap().tax = Some(dec!(0.99));
    let e = order_to_verkooporder(&o, &inp).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("shipping_cost.tax"));
    assert!(
        e.message
            .contains("the shop charged 0.99 VAT on 3.96 excl. (4.95 incl.)")
            && e.message.contains("Hoog 21 % (gives 0.83)")
            && e.message.contains("Laag 9 %")
            && e.message.contains("Geen 0 %")
            && e.message.contains("VERZEND"),
        "{e}"
    );

    // a line whose VAT another rate explains names that rate and the article's
    o.shipping_cost.as_mut().unwrap().tax = Some(dec!(0.86));
    o.lines[0].tax = Some(dec!(2.84)); // 16.35 incl. at 21 %: round(16.35 × 21/121) = 2.84
    let e = order_to_verkooporder(&o, &inp).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("lines[0].tax"));
    assert!(
        e.message
            .contains("that is Hoog 21 % VAT, but SnelStart books article KP-0002 at 9 %"),
        "{e}"
    );
}

#[test]
fn exclusive_per_row_vat_is_booked_incl_when_snelstart_would_round_differently() {
    // three rows of 0.05 excl. at 21 %: the shop rounds per row (0.01 each, 0.03 in all),
    // SnelStart per rate (0.15 × 0.21 = 0.0315 -> 0.03): equal; with 0.07 each the shop gets
    // 3 × round(0.0147) = 0.03, SnelStart round(0.21 × 0.21 = 0.0441) = 0.04: a cent apart
    let r = refs();
    let cfg = OrdersConfig::default();
    let mut o = order();
    o.tax_mode = TaxMode::Exclusive;
    o.lines = (0..3)
        .map(|_| {
            let mut l = line("KP-0001", dec!(1), dec!(0.07), dec!(0), dec!(0.07), dec!(21));
            l.tax = Some(dec!(0.01));
            l
        })
        .collect();
    o.shipping_cost = None;
    o.grand_total = dec!(0.24);
    let mut inp = inputs(&r, &cfg);
    inp.lines = vec![art("a1", "KP-0001", dec!(21)); 3];
    let plan = order_to_verkooporder(&o, &inp).unwrap();
    assert_eq!(plan.body.verkooporder_btw_ingave_model, "Inclusief");
    assert_eq!(plan.total_incl, dec!(0.24));
    assert!(plan.body.regels.iter().all(|g| g.totaal == dec!(0.08)));
    // without the shop's amounts nothing can be rebooked: the total check rejects it
    for l in &mut o.lines {
        l.tax = None;
    }
    let e = order_to_verkooporder(&o, &inp).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("grand_total"));
}

#[test]
fn per_total_orders_are_judged_on_the_sum_of_row_taxes() {
    let r = refs();
    let cfg = OrdersConfig::default();
    let mut o = order();
    o.tax_mode = TaxMode::Exclusive;
    o.vat_rounding = koppel_core::VatRounding::PerTotal;
    // 3 × 0.05 excl. at 21 %: exact 0.0315, once rounded 0.03, shown per row 0.01 each
    o.lines = (0..3)
        .map(|_| {
            let mut l = line("KP-0001", dec!(1), dec!(0.05), dec!(0), dec!(0.05), dec!(21));
            l.tax = Some(dec!(0.01));
            l
        })
        .collect();
    o.shipping_cost = None;
    o.grand_total = dec!(0.18);
    let mut inp = inputs(&r, &cfg);
    inp.lines = vec![art("a1", "KP-0001", dec!(21)); 3];
    assert!(order_to_verkooporder(&o, &inp).is_ok());
    // a cent high on every row: each row within its cent, the sum 2.85 cents off
    for l in &mut o.lines {
        l.tax = Some(dec!(0.02));
    }
    o.grand_total = dec!(0.21);
    let e = order_to_verkooporder(&o, &inp).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("tax_total"));
    assert!(e.message.contains("totals 0.06"), "{e}");
}

/// An order's other charges (an OpenCart eco tax: a fixed amount without VAT) are booked one
/// line each on `orders.fee_article`, judged against that article's rate like shipping.
#[test]
fn fees_are_booked_on_the_fee_article_without_vat() {
    let r = refs();
    let cfg = OrdersConfig::default();
    let mut o = order();
    o.fees = vec![Charge {
        description: "Eco Tax (-2.00)".into(),
        amount: dec!(4.00),
        vat_percentage: Some(dec!(0)),
        tax: Some(dec!(0)),
    }];
    o.grand_total += dec!(4.00);
    let mut inp = inputs(&r, &cfg);
    inp.fee_article = Some(art("fee", "HEFFING", dec!(0)));
    let plan = order_to_verkooporder(&o, &inp).unwrap();
    let fee = plan
        .body
        .regels
        .iter()
        .find(|g| g.artikel == Some(IdRef::new("fee")))
        .expect("a line on the fee article");
    assert_eq!(
        (fee.aantal, fee.stuksprijs, fee.totaal),
        (dec!(1), dec!(4.00), dec!(4.00))
    );
    assert_eq!(fee.omschrijving, "Eco Tax (-2.00)");
    assert_eq!(plan.total_incl, dec!(48.50));

    // without the setting: the order is refused, naming the fee and the setting
    let e = order_to_verkooporder(&o, &inputs(&r, &cfg)).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("fees[0]"), "{e}");
    assert!(e.message.contains("orders.fee_article"), "{e}");

    // a fee article with VAT does not explain a fee the shop charged no VAT on
    let mut inp = inputs(&r, &cfg);
    inp.fee_article = Some(art("fee", "HEFFING", dec!(21)));
    let e = order_to_verkooporder(&o, &inp).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("fees[0].tax"), "{e}");
    assert!(e.message.contains("HEFFING at 21 %"), "{e}");
}
