//! [`Flow`]: one direction of one record kind (products, stock, customers, orders, open
//! amounts, payments), named in config, state and reports. Its own module so the engine and the
//! state store both use it without depending on each other (re-exported as `engine::Flow`).

use serde::{Deserialize, Serialize};

use crate::model::Kind;

/// One direction of one record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// SnelStart articles -> shop products.
    Products,
    /// SnelStart stock -> shop stock.
    Stock,
    /// Shop customers -> SnelStart relaties.
    Customers,
    /// Shop orders -> SnelStart verkooporders.
    Orders,
    /// SnelStart open amounts -> shop.
    OpenAmounts,
    /// SnelStart payment status -> shop.
    Payments,
}

impl Flow {
    /// Every flow, in the order a full run does them (products before orders, customers
    /// before orders).
    pub fn all() -> [Flow; 6] {
        [
            Flow::Products,
            Flow::Stock,
            Flow::Customers,
            Flow::Orders,
            Flow::OpenAmounts,
            Flow::Payments,
        ]
    }

    /// The record kind the flow moves.
    pub fn kind(&self) -> Kind {
        match self {
            Flow::Products => Kind::Product,
            Flow::Stock => Kind::StockLevel,
            Flow::Customers => Kind::Customer,
            Flow::Orders => Kind::Order,
            Flow::OpenAmounts => Kind::OpenAmount,
            Flow::Payments => Kind::PaymentStatus,
        }
    }

    /// The flow that moves `kind`.
    pub fn of_kind(kind: Kind) -> Flow {
        match kind {
            Kind::Product => Flow::Products,
            Kind::StockLevel => Flow::Stock,
            Kind::Customer => Flow::Customers,
            Kind::Order => Flow::Orders,
            Kind::OpenAmount => Flow::OpenAmounts,
            Kind::PaymentStatus => Flow::Payments,
        }
    }

    /// The snake_case name used in config, state and reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Flow::Products => "products",
            Flow::Stock => "stock",
            Flow::Customers => "customers",
            Flow::Orders => "orders",
            Flow::OpenAmounts => "open_amounts",
            Flow::Payments => "payments",
        }
    }

    /// Parses [`Flow::as_str`].
    pub fn parse(s: &str) -> Option<Flow> {
        Flow::all().into_iter().find(|f| f.as_str() == s)
    }

    /// True when the flow reads from the accounting side and writes to the shop
    /// (products, stock, open_amounts, payments); false for customers and orders.
    pub fn from_accounting(&self) -> bool {
        !matches!(self, Flow::Customers | Flow::Orders)
    }
}

impl std::fmt::Display for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
