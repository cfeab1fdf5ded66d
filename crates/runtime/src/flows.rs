//! Flows as the config file names them and the check that a flow is
//! possible for a pair's connectors (before any I/O).

pub use koppel_core::engine::{Flow, FlowOptions};
use koppel_core::flows::Impossible;
use koppel_core::registry::ConnectorDescriptor;

/// Checks that the pair's connectors can do `flow`: the source side reads the flow's kind and
/// the other side writes it (and, for orders that create buyers, writes customers). The rule is
/// [`koppel_core::flows::possible`]; this words its answer for the config file.
pub fn possible(
    flow: Flow,
    accounting: &ConnectorDescriptor,
    shop: &ConnectorDescriptor,
    options: &FlowOptions,
) -> Result<(), String> {
    let kind = flow.kind();
    let (from, to) = if flow.from_accounting() {
        (accounting, shop)
    } else {
        (shop, accounting)
    };
    match koppel_core::flows::possible(
        flow,
        from.capabilities.sources,
        to.capabilities.sinks,
        options.create_customers,
    ) {
        Ok(()) => Ok(()),
        Err(Impossible::CannotRead) => Err(format!(
            "the {} connector {:?} cannot read {}s, so the {flow} flow is not possible; remove [pairs.flows.{flow}]{}",
            side(from, accounting),
            from.name,
            kind.noun(),
            impossible_hint(flow)
        )),
        Err(Impossible::CannotWrite) => Err(format!(
            "the {} connector {:?} cannot write {}s, so the {flow} flow is not possible; remove [pairs.flows.{flow}]{}",
            side(to, accounting),
            to.name,
            kind.noun(),
            impossible_hint(flow)
        )),
        Err(Impossible::CannotCreateCustomers) => Err(format!(
            "the orders flow creates missing buyers, but {:?} cannot write customers; set create_customers = false",
            to.name
        )),
    }
}

fn side(d: &ConnectorDescriptor, accounting: &ConnectorDescriptor) -> &'static str {
    if std::ptr::eq(d, accounting) {
        "accounting"
    } else {
        "shop"
    }
}

fn impossible_hint(flow: Flow) -> &'static str {
    match flow {
        Flow::OpenAmounts | Flow::Payments => " (or use a shop connector that can record it on the order)",
        _ => "",
    }
}
