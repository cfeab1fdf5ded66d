//! [`Address`] and [`Customer`].

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Check, CountryCode, Kind, Record, ValidationError};

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Address {
    /// First name of the addressee.
    pub first_name: Option<String>,
    /// Last name of the addressee.
    pub last_name: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Street lines (street and house number, addition).
    pub street: Vec<String>,
    /// Postal code.
    pub postcode: String,
    /// City.
    pub city: String,
    /// Region or province.
    pub region: Option<String>,
    /// Country.
    pub country: Option<CountryCode>,
    /// Telephone.
    pub phone: Option<String>,
}

impl Address {
    /// `first last`, trimmed; `None` when both are empty.
    pub fn person(&self) -> Option<String> {
        let s = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!s.is_empty()).then_some(s)
    }

    /// Street lines joined with a space.
    pub fn street_line(&self) -> String {
        self.street
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub(super) fn validate(&self, c: &Check<'_>, path: &str) -> Result<(), ValidationError> {
        if self.street_line().is_empty() {
            return Err(c.fail(format!("{path}.street"), "must not be empty"));
        }
        c.non_empty(&format!("{path}.city"), &self.city)?;
        if self.country.is_none() {
            return Err(c.fail(format!("{path}.country"), "missing or not an ISO country code"));
        }
        Ok(())
    }
}

/// A customer (SnelStart relatie of kind Klant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    /// The shop's key: its customer id, or `guest:<e-mail>` for guest orders.
    pub key: String,
    /// E-mail address.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company name.
    pub company: Option<String>,
    /// Telephone.
    pub phone: Option<String>,
    /// VAT number (btwNummer), e.g. `NL123456789B01`.
    pub vat_number: Option<String>,
    /// Chamber of commerce number (KvK).
    pub kvk_number: Option<String>,
    /// Billing address.
    pub billing: Option<Address>,
    /// Shipping address.
    pub shipping: Option<Address>,
    /// Built from a guest order (no shop account).
    pub is_guest: bool,
    /// Last change at the source.
    pub modified: Option<DateTime<Utc>>,
}

impl Customer {
    /// The display name: company, else person, else e-mail.
    pub fn display_name(&self) -> String {
        let person = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        self.company
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or((!person.is_empty()).then_some(person))
            .or(self.email.clone())
            .unwrap_or_else(|| self.key.clone())
    }
}

impl Record for Customer {
    const KIND: Kind = Kind::Customer;
    fn key(&self) -> String {
        self.key.clone()
    }
    fn modified(&self) -> Option<DateTime<Utc>> {
        self.modified
    }
    fn validate(&self) -> Result<(), ValidationError> {
        let label = self.label();
        let c = Check { record: &label };
        c.non_empty("key", &self.key)?;
        if let Some(e) = &self.email {
            if !e.contains('@') || e.trim() != e {
                return Err(c.fail("email", format!("{e:?} is not an e-mail address")));
            }
        }
        if self.display_name().trim().is_empty() {
            return Err(c.fail("last_name", "customer has no name, company or e-mail"));
        }
        if let Some(a) = &self.billing {
            a.validate(&c, "billing")?;
        }
        if let Some(a) = &self.shipping {
            a.validate(&c, "shipping")?;
        }
        Ok(())
    }
}
