//! Orders -> verkooporders: pricing, VAT judged on amounts, the total SnelStart computes.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use koppel_core::model::round_money;
use koppel_core::vat::{self, ShopVat, TaxedRow};
use koppel_core::{Address, Currency, Order, Record, Rejection, TaxMode, VatKind, VatRate, VatRounding};
use rust_decimal::Decimal;

use crate::config::OrdersConfig;
use crate::models::{Adres, IdRef, VerkooporderRegel, VerkooporderWrite};

use super::{address_to_adres, fit, format_send_time, limits, non_empty, utc_to_local, RefData};

/// An article resolved for an order line: its GUID and SnelStart's VAT rate on the order date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineArticle {
    /// Article GUID.
    pub id: String,
    /// Its artikelcode (for messages).
    pub code: String,
    /// Its VAT rate on the order date.
    pub vat: VatRate,
}

/// What an order needs besides itself, resolved by the connector.
#[derive(Debug, Clone)]
pub struct OrderInputs<'a> {
    /// GUID of the buyer's relatie.
    pub relatie_id: String,
    /// One resolved article per order line, in order.
    pub lines: Vec<LineArticle>,
    /// The shipping article, when configured.
    pub shipping_article: Option<LineArticle>,
    /// The payment fee article, when configured.
    pub payment_article: Option<LineArticle>,
    /// The discount article, when configured.
    pub discount_article: Option<LineArticle>,
    /// The article of the order's other charges ([`Order::fees`]), when configured.
    pub fee_article: Option<LineArticle>,
    /// Reference data (countries, price decimals).
    pub refs: &'a RefData,
    /// The orders section of the config.
    pub config: &'a OrdersConfig,
}

/// A verkooporder ready to send, with the total SnelStart will compute and any warnings.
#[derive(Debug, Clone)]
pub struct OrderPlan {
    /// The request body.
    pub body: VerkooporderWrite,
    /// The total incl. VAT as SnelStart computes it.
    pub total_incl: Decimal,
    /// VAT mismatches written anyway (`vat_mismatch = "warn"`).
    pub warnings: Vec<String>,
}

/// The order date in the Netherlands (the VAT date).
pub fn order_date(o: &Order) -> NaiveDate {
    utc_to_local(o.created_at).date()
}

pub(super) fn order_address(
    label: &str,
    path: &str,
    a: &Address,
    refs: &RefData,
) -> Result<Adres, Rejection> {
    let person = a.person();
    let company = non_empty(a.company.as_deref());
    let contact = match (company, person) {
        (Some(c), Some(p)) => {
            let both = format!("{c}, {p}");
            if both.chars().count() > limits::CONTACTPERSOON {
                return Err(Rejection::new(
                    label,
                    Some(&format!("{path}.company")),
                    format!(
                        "company and person ({} characters) do not fit SnelStart's contactpersoon (at most {})",
                        both.chars().count(),
                        limits::CONTACTPERSOON
                    ),
                ));
            }
            Some(both)
        }
        (Some(c), None) => Some(c),
        (None, p) => p,
    };
    address_to_adres(label, path, a, contact, refs)
}

pub(super) struct Priced {
    stuksprijs: Decimal,
    totaal: Decimal,
    correction: Option<Decimal>,
}

/// Chooses `stuksprijs` so the regel total equals `row_total` (see the module doc).
pub(super) fn price_line(
    quantity: Decimal,
    unit_price: Decimal,
    row_total: Decimal,
    decimals: u32,
) -> Priced {
    if round_money(quantity * unit_price, 2) == row_total && unit_price.normalize().scale() <= decimals {
        return Priced {
            stuksprijs: unit_price,
            totaal: row_total,
            correction: None,
        };
    }
    if !quantity.is_zero() {
        let candidate = round_money(row_total / quantity, decimals);
        if round_money(candidate * quantity, 2) == row_total {
            return Priced {
                stuksprijs: candidate,
                totaal: row_total,
                correction: None,
            };
        }
    }
    let stuksprijs = round_money(unit_price, decimals);
    let totaal = round_money(stuksprijs * quantity, 2);
    Priced {
        stuksprijs,
        totaal,
        correction: Some(row_total - totaal),
    }
}

/// How a row's VAT is judged: the order's tax mode and rounding rule, the administration's
/// rates on the order date, and what a mismatch does.
pub(super) struct VatJudge<'a> {
    label: &'a str,
    mode: TaxMode,
    rounding: VatRounding,
    rates: Vec<VatRate>,
    policy: crate::config::VatMismatch,
}

pub(super) fn rate_name(rate: &VatRate) -> String {
    match rate.kind {
        Some(k) => format!("{k:?} {} %", rate.percentage.normalize()),
        None => format!("{} %", rate.percentage.normalize()),
    }
}

impl VatJudge<'_> {
    /// The field a verdict names: `<base>.tax` when judged on the shop's amount, else
    /// `<base>.vat_percentage`.
    fn field(base: &str, shop: &ShopVat) -> String {
        if shop.row.is_some() {
            format!("{base}.tax")
        } else {
            format!("{base}.vat_percentage")
        }
    }

    fn verdict(&self, field: String, msg: String, warnings: &mut Vec<String>) -> Result<(), Rejection> {
        match self.policy {
            crate::config::VatMismatch::Quarantine => Err(Rejection::new(self.label, Some(&field), msg)),
            crate::config::VatMismatch::Warn => {
                warnings.push(format!("{}: {field}: {msg}", self.label));
                Ok(())
            }
        }
    }

    /// A row booked on an article: the article's rate must explain the shop's VAT (by amounts,
    /// see [`koppel_core::vat`]; by the stated percentage, exactly, when the shop gives no
    /// amount). Otherwise the message names the amounts, the rate that does explain them (or
    /// every rate tried) and the article's rate.
    fn article_row(
        &self,
        base: &str,
        shop: &ShopVat,
        article: &LineArticle,
        warnings: &mut Vec<String>,
    ) -> Result<(), Rejection> {
        if shop.row.is_none() && shop.percentage.is_none() {
            return Ok(());
        }
        let booked = std::slice::from_ref(&article.vat);
        if !vat::explaining(booked, shop, self.mode, self.rounding).is_empty() {
            return Ok(());
        }
        let code = &article.code;
        let booked_name = rate_name(&article.vat);
        let msg = match (
            &shop.row,
            vat::pick(&self.rates, shop, self.mode, self.rounding, None),
        ) {
            (Some(row), Ok(other)) => format!(
                "{}: that is {} VAT, but SnelStart books article {code} at {booked_name} (gives {:.2})",
                vat::describe(row, self.mode),
                rate_name(other),
                round_money(vat::rate_taxes(&article.vat, row, self.mode, self.rounding)[0], 2),
            ),
            (None, Ok(_)) | (None, Err(_)) => format!(
                "the shop charged {} % VAT, SnelStart's rate for article {code} is {} %",
                shop.percentage.unwrap_or_default().normalize(),
                article.vat.percentage.normalize()
            ),
            (Some(_), Err(u)) => format!("{u}; SnelStart books article {code} at {booked_name}"),
        };
        self.verdict(Self::field(base, shop), msg, warnings)
    }

    /// A row without an article (a priced text line): the rate is picked among the
    /// administration's rates by the amounts test; a row no rate explains is rejected.
    fn text_row(&self, base: &str, shop: &ShopVat) -> Result<VatRate, Rejection> {
        if shop.row.is_none() && shop.percentage.is_none() {
            // the shop says nothing: booked without VAT, as before
            return Ok(VatRate {
                percentage: Decimal::ZERO,
                kind: Some(VatKind::Geen),
            });
        }
        vat::pick(&self.rates, shop, self.mode, self.rounding, None)
            .cloned()
            .map_err(|u| Rejection::new(self.label, Some(&Self::field(base, shop)), u.to_string()))
    }
}

/// A priced line without an article is allowed only with `priced_text_lines`.
pub(super) fn no_article(
    label: &str,
    field: &str,
    setting: &str,
    cfg: &OrdersConfig,
) -> Result<(), Rejection> {
    if cfg.priced_text_lines {
        Ok(())
    } else {
        Err(Rejection::new(
            label,
            Some(field),
            format!("no article to book it on: set {setting} (SnelStart needs an article for a line with an amount), or orders.priced_text_lines = true"),
        ))
    }
}

pub(super) fn regel(
    artikel: Option<&LineArticle>,
    omschrijving: String,
    stuksprijs: Decimal,
    aantal: Decimal,
    totaal: Decimal,
) -> VerkooporderRegel {
    VerkooporderRegel {
        artikel: artikel.map(|a| IdRef::new(&a.id)),
        omschrijving,
        stuksprijs,
        aantal,
        kortings_percentage: Decimal::ZERO,
        totaal,
    }
}

/// A row of the order as it is booked: a line, a charge or the order discount, with the VAT
/// rate SnelStart books it at and the shop's VAT on it.
pub(super) struct Booked<'a> {
    article: Option<&'a LineArticle>,
    /// `lines[i]`, `shipping_cost`, ...: where a correction line's name error points.
    field: String,
    name: String,
    quantity: Decimal,
    unit_price: Decimal,
    /// Row amount after discount in the order's tax mode.
    amount: Decimal,
    /// The VAT percentage SnelStart books the row at.
    pct: Decimal,
    /// The shop's VAT on the row, when it says.
    tax: Option<Decimal>,
    /// A line (priced by [`price_line`], may get a correction line) rather than a charge.
    is_line: bool,
}

/// A regel's (totaal, VAT percentage), as SnelStart totals them.
pub(super) type RegelAmount = (Decimal, Decimal);

/// The regels for the booked rows, in the order's tax mode or, with `add_tax`, incl. the shop's
/// VAT on each row (for an exclusive order booked `Inclusief`); with the (totaal, VAT %) pairs
/// SnelStart totals.
pub(super) fn regels_of(
    label: &str,
    rows: &[Booked<'_>],
    add_tax: bool,
    decimals: u32,
) -> Result<(Vec<VerkooporderRegel>, Vec<RegelAmount>), Rejection> {
    let mut regels = Vec::new();
    let mut amounts = Vec::new();
    for b in rows {
        let tax = if add_tax {
            b.tax.unwrap_or_default()
        } else {
            Decimal::ZERO
        };
        let amount = b.amount + tax;
        if !b.is_line {
            regels.push(regel(b.article, b.name.clone(), amount, Decimal::ONE, amount));
            amounts.push((amount, b.pct));
            continue;
        }
        let unit = if add_tax {
            round_money(
                b.unit_price * (Decimal::ONE + b.pct / Decimal::ONE_HUNDRED),
                decimals,
            )
        } else {
            b.unit_price
        };
        let p = price_line(b.quantity, unit, amount, decimals);
        regels.push(regel(
            b.article,
            b.name.clone(),
            p.stuksprijs,
            b.quantity,
            p.totaal,
        ));
        amounts.push((p.totaal, b.pct));
        if let Some(c) = p.correction.filter(|c| !c.is_zero()) {
            let text = fit(
                label,
                &format!("{}.name", b.field),
                "omschrijving",
                format!("Korting {}", b.name),
                limits::REGEL_OMSCHRIJVING,
            )?;
            regels.push(regel(b.article, text, c, Decimal::ONE, c));
            amounts.push((c, b.pct));
        }
    }
    Ok((regels, amounts))
}

/// Builds the verkooporder for an order and checks its VAT and total.
///
/// VAT is judged on amounts ([`koppel_core::vat`]): a line or charge on an article passes when
/// the article's SnelStart rate explains the shop's VAT amount under the order's rounding rule
/// (or, when the shop gives no amount, its stated percentage equals the rate exactly); a priced
/// text line gets the administration's rate that explains it; per-total orders are also judged
/// on the sum of their row taxes. The total SnelStart will compute must equal the shop's grand
/// total to the cent. An exclusive order whose per-row VAT SnelStart's per-rate rounding
/// cannot reproduce (a cent or so on orders with many rows) is booked `Inclusief` with each
/// regel incl. the shop's VAT, so its total is the shop's grand total.
pub fn order_to_verkooporder(o: &Order, inputs: &OrderInputs<'_>) -> Result<OrderPlan, Rejection> {
    let label = o.label();
    let cfg = inputs.config;
    let decimals = inputs.refs.price_decimals;
    if o.currency != Currency::eur() {
        return Err(Rejection::new(
            &label,
            Some("currency"),
            format!("{} orders cannot be booked: SnelStart works in EUR", o.currency),
        ));
    }
    let reference = fit(
        &label,
        "number",
        "orderreferentie",
        o.number.trim().to_owned(),
        limits::ORDERREFERENTIE,
    )?;
    if inputs.lines.len() != o.lines.len() {
        return Err(Rejection::new(
            &label,
            Some("lines"),
            "not every line has a resolved article",
        ));
    }
    let judge = VatJudge {
        label: &label,
        mode: o.tax_mode,
        rounding: o.vat_rounding,
        rates: inputs.refs.rates_on(order_date(o)),
        policy: cfg.vat_mismatch,
    };
    let mut warnings = Vec::new();
    let mut rows: Vec<Booked<'_>> = Vec::new();
    // the shop's rows with the rate each is booked at, for the per-total test
    let mut judged: Vec<(TaxedRow, VatRate)> = Vec::new();
    for (i, (line, art)) in o.lines.iter().zip(&inputs.lines).enumerate() {
        let base = format!("lines[{i}]");
        let shop = ShopVat::of_line(line);
        judge.article_row(&base, &shop, art, &mut warnings)?;
        if let Some(row) = shop.row {
            judged.push((row, art.vat.clone()));
        }
        let name = fit(
            &label,
            &format!("{base}.name"),
            "omschrijving",
            line.name.trim().to_owned(),
            limits::REGEL_OMSCHRIJVING,
        )?;
        rows.push(Booked {
            article: Some(art),
            field: base,
            name,
            quantity: line.quantity,
            unit_price: line.unit_price,
            amount: line.row_total,
            pct: art.vat.percentage,
            tax: line.tax,
            is_line: true,
        });
    }
    let mut charges = vec![
        (
            "shipping_cost".to_owned(),
            "orders.shipping_article",
            o.shipping_cost.as_ref(),
            inputs.shipping_article.as_ref(),
        ),
        (
            "payment_cost".to_owned(),
            "orders.payment_fee_article",
            o.payment_cost.as_ref(),
            inputs.payment_article.as_ref(),
        ),
    ];
    for (i, fee) in o.fees.iter().enumerate() {
        charges.push((
            format!("fees[{i}]"),
            "orders.fee_article",
            Some(fee),
            inputs.fee_article.as_ref(),
        ));
    }
    for (field, setting, charge, article) in charges {
        let field = field.as_str();
        let Some(charge) = charge else { continue };
        if charge.amount.is_zero() {
            continue;
        }
        let shop = ShopVat::of_charge(charge);
        let rate = match article {
            Some(a) => {
                judge.article_row(field, &shop, a, &mut warnings)?;
                a.vat.clone()
            }
            None => {
                no_article(&label, field, setting, cfg)?;
                judge.text_row(field, &shop)?
            }
        };
        if let Some(row) = shop.row {
            judged.push((row, rate.clone()));
        }
        let text = fit(
            &label,
            &format!("{field}.description"),
            "omschrijving",
            charge.description.trim().to_owned(),
            limits::REGEL_OMSCHRIJVING,
        )?;
        rows.push(Booked {
            article,
            field: field.to_owned(),
            name: text,
            quantity: Decimal::ONE,
            unit_price: charge.amount,
            amount: charge.amount,
            pct: rate.percentage,
            tax: charge.tax,
            is_line: false,
        });
    }
    let per_total: Vec<(TaxedRow, &VatRate)> = judged.iter().map(|(row, rate)| (*row, rate)).collect();
    if let Err(msg) = vat::check_per_total(&per_total, o.tax_mode, o.vat_rounding) {
        judge.verdict("tax_total".to_owned(), msg, &mut warnings)?;
    }
    if o.discount > Decimal::ZERO {
        let amount = -o.discount;
        let pct = match &inputs.discount_article {
            Some(a) => a.vat.percentage,
            None => {
                no_article(&label, "discount", "orders.discount_article", cfg)?;
                Decimal::ZERO
            }
        };
        rows.push(Booked {
            article: inputs.discount_article.as_ref(),
            field: "discount".to_owned(),
            name: "Korting".to_owned(),
            quantity: Decimal::ONE,
            unit_price: amount,
            amount,
            pct,
            tax: None,
            is_line: false,
        });
    }
    let grand_total = round_money(o.grand_total, 2);
    let (mut regels, amounts) = regels_of(&label, &rows, false, decimals)?;
    let mut mode = o.tax_mode;
    let mut total_incl = snelstart_total(&amounts, mode);
    // SnelStart rounds an exclusive order's VAT per rate; a shop rounding per row (or unit)
    // can differ by cents: book the shop's own incl. amounts instead, when it gave every one.
    let rebook = o.tax_mode == TaxMode::Exclusive
        && total_incl != grand_total
        && o.discount.is_zero()
        && rows.iter().all(|b| b.tax.is_some());
    if rebook {
        let (incl_regels, incl_amounts) = regels_of(&label, &rows, true, decimals)?;
        let incl_total = snelstart_total(&incl_amounts, TaxMode::Inclusive);
        if incl_total == grand_total {
            regels = incl_regels;
            mode = TaxMode::Inclusive;
            total_incl = incl_total;
        }
    }
    if total_incl != grand_total {
        return Err(Rejection::new(
            &label,
            Some("grand_total"),
            format!(
                "SnelStart would total {total_incl} incl. VAT, the shop's grand_total is {}",
                o.grand_total
            ),
        ));
    }
    let body = VerkooporderWrite {
        relatie: IdRef::new(&inputs.relatie_id),
        datum: format_send_time(o.created_at),
        proces_status: cfg.process_status.as_str().to_owned(),
        verkooporder_btw_ingave_model: match mode {
            TaxMode::Inclusive => "Inclusief",
            TaxMode::Exclusive => "Exclusief",
        }
        .to_owned(),
        omschrijving: cfg.description.replace("{number}", &o.number),
        orderreferentie: reference,
        memo: o.note.clone().filter(|n| !n.trim().is_empty()),
        afleveradres: o
            .shipping
            .as_ref()
            .map(|a| order_address(&label, "shipping", a, inputs.refs))
            .transpose()?,
        factuuradres: Some(order_address(&label, "billing", &o.billing, inputs.refs)?),
        regels,
    };
    Ok(OrderPlan {
        body,
        total_incl,
        warnings,
    })
}

/// The order total incl. VAT as SnelStart computes it from regel totals: inclusive orders sum
/// the totals; exclusive orders add VAT per rate (each rounded to cents). Half away from zero.
pub fn snelstart_total(amounts: &[(Decimal, Decimal)], mode: TaxMode) -> Decimal {
    let sum: Decimal = amounts.iter().map(|(a, _)| *a).sum();
    match mode {
        TaxMode::Inclusive => round_money(sum, 2),
        TaxMode::Exclusive => {
            let mut by_rate: BTreeMap<Decimal, Decimal> = BTreeMap::new();
            for (a, pct) in amounts {
                *by_rate.entry(pct.normalize()).or_default() += *a;
            }
            let vat: Decimal = by_rate
                .iter()
                .map(|(pct, base)| round_money(*base * *pct / Decimal::ONE_HUNDRED, 2))
                .sum();
            round_money(sum, 2) + vat
        }
    }
}
