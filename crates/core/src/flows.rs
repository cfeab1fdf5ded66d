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

/// Why a flow is not possible for two connectors, as found by [`possible`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impossible {
    /// The source side does not read the flow's kind.
    CannotRead,
    /// The destination side does not write the flow's kind.
    CannotWrite,
    /// The flow is orders with `create_customers`, and the destination side does not write
    /// customers.
    CannotCreateCustomers,
}

/// The one rule for "can these two connectors do `flow`": the source side (accounting for
/// [`Flow::from_accounting`] flows, the shop otherwise) must read the flow's kind
/// (`from_reads`: the kinds it reads), the other side must write it (`to_writes`: the kinds it
/// writes), and orders that create missing buyers (`create_customers`) need the other side to
/// write customers too. Checked in that order; the first failure is returned. Pure: callers
/// pass either the registry descriptors' `Capabilities` or the built connectors' `Endpoints`
/// kinds, and word the error themselves.
pub fn possible(
    flow: Flow,
    from_reads: &[Kind],
    to_writes: &[Kind],
    create_customers: bool,
) -> Result<(), Impossible> {
    let kind = flow.kind();
    if !from_reads.contains(&kind) {
        return Err(Impossible::CannotRead);
    }
    if !to_writes.contains(&kind) {
        return Err(Impossible::CannotWrite);
    }
    if flow == Flow::Orders && create_customers && !to_writes.contains(&Kind::Customer) {
        return Err(Impossible::CannotCreateCustomers);
    }
    Ok(())
}

impl std::fmt::Display for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn possible_when_source_reads_and_sink_writes() {
        for flow in Flow::all() {
            let k = [flow.kind()];
            assert_eq!(possible(flow, &k, &k, false), Ok(()), "{flow}");
        }
    }

    #[test]
    fn read_is_checked_before_write() {
        assert_eq!(
            possible(Flow::Products, &[], &[], false),
            Err(Impossible::CannotRead)
        );
        assert_eq!(
            possible(Flow::Products, &[Kind::Product], &[Kind::StockLevel], false),
            Err(Impossible::CannotWrite)
        );
    }

    #[test]
    fn orders_creating_customers_need_a_customer_sink() {
        let o = [Kind::Order];
        assert_eq!(
            possible(Flow::Orders, &o, &o, true),
            Err(Impossible::CannotCreateCustomers)
        );
        assert_eq!(possible(Flow::Orders, &o, &o, false), Ok(()));
        assert_eq!(
            possible(Flow::Orders, &o, &[Kind::Order, Kind::Customer], true),
            Ok(())
        );
        // create_customers only matters for orders.
        let c = [Kind::Customer];
        assert_eq!(possible(Flow::Customers, &c, &c, true), Ok(()));
        assert_eq!(possible(Flow::Orders, &[], &o, true), Err(Impossible::CannotRead));
    }
}
