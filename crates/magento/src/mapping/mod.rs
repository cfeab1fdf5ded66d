//! Pure functions between Magento's wire types and koppel's canonical model. No I/O: what
//! needs the shop (category ids, attribute option ids) comes in as arguments.

use chrono::{DateTime, NaiveDateTime, Utc};
use koppel_core::{Address, CountryCode, Rejection};

use crate::models::WireAddress;

mod customers;
mod discounts;
mod invoices;
mod orders;
mod products;
mod stock;

pub use customers::*;
use discounts::*;
pub use invoices::*;
pub use orders::*;
pub use products::*;
pub use stock::*;

/// Magento's timestamp format in filters and responses (always UTC).
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats a filter time: `YYYY-MM-DD HH:MM:SS` in UTC (sub-seconds dropped).
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format(TIME_FORMAT).to_string()
}

/// Parses a Magento timestamp (UTC); RFC 3339 is accepted too.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, TIME_FORMAT)
        .map(|n| n.and_utc())
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        })
}

/// ISO 3166-1 alpha-2 codes, plus `XK` (Kosovo), which Magento's country list carries.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO \
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH \
ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL \
IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME \
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH \
PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC \
TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// A known country code, upper-cased.
pub fn country(code: &str) -> Option<CountryCode> {
    let c = CountryCode::new(code).ok()?;
    COUNTRIES.split(' ').any(|k| k == c.as_str()).then_some(c)
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Maps an address. A country that is missing stays `None` (validation names it); one that is
/// present but not an ISO code is rejected here, naming `field.country`.
pub fn address_from_wire(a: &WireAddress, record: &str, field: &str) -> Result<Address, Rejection> {
    let country = match text(&a.country_id) {
        None => None,
        Some(c) => Some(country(&c).ok_or_else(|| {
            Rejection::new(
                record,
                Some(&format!("{field}.country")),
                format!("unknown country {c:?}"),
            )
        })?),
    };
    Ok(Address {
        first_name: text(&a.firstname),
        last_name: text(&a.lastname),
        company: text(&a.company),
        street: a
            .street
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        postcode: text(&a.postcode).unwrap_or_default(),
        city: text(&a.city).unwrap_or_default(),
        region: text(&a.region),
        country,
        phone: text(&a.telephone),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_checked_against_iso_list() {
        assert_eq!(COUNTRIES.split(' ').count(), 250);
        assert_eq!(country("nl").unwrap().as_str(), "NL");
        assert!(country("ZZ").is_none() && country("NLD").is_none() && country("").is_none());
    }

    #[test]
    fn times_are_utc_magento_format() {
        let t = parse_time("2024-05-01 10:00:00").unwrap();
        assert_eq!(
            format_time(t + chrono::Duration::milliseconds(900)),
            "2024-05-01 10:00:00"
        );
        assert_eq!(parse_time("2024-05-01T12:00:00+02:00"), Some(t));
        assert_eq!(parse_time("1 mei"), None);
    }
}
