//! Flows as the config file names them, their engine options, and the check that a flow is
//! possible for a pair's connectors (before any I/O).

use std::time::Duration;

pub use koppel_core::engine::{Flow, FlowOptions};
use koppel_core::registry::ConnectorDescriptor;

use crate::config::FlowConfig;

/// Parses a humantime duration option, naming the key on error.
fn duration(key: &str, value: &Option<String>) -> Result<Option<Duration>, (String, String)> {
    match value {
        None => Ok(None),
        Some(v) => humantime::parse_duration(v.trim()).map(Some).map_err(|e| {
            (
                key.to_owned(),
                format!("{v:?} is not a duration ({e}); write e.g. \"5m\", \"90s\" or \"1h 30m\""),
            )
        }),
    }
}

/// The engine options a flow table asks for, on top of the engine's defaults. The error is
/// (key below the flow table, message).
pub fn engine_options(flow: Flow, c: &FlowConfig) -> Result<FlowOptions, (String, String)> {
    let mut o = FlowOptions::default();
    if let Some(d) = duration("overlap", &c.overlap)? {
        o.overlap = d;
    }
    if let Some(n) = c.concurrency {
        if n == 0 || n > 64 {
            return Err(("concurrency".into(), format!("{n} is out of range; use 1 to 64")));
        }
        o.concurrency = n;
    }
    if let Some(b) = c.create_customers {
        if flow != Flow::Orders {
            return Err((
                "create_customers".into(),
                "only applies to the orders flow; move it to [pairs.flows.orders]".into(),
            ));
        }
        o.create_customers = b;
    }
    if let Some(d) = duration("quarantine_backoff", &c.quarantine_backoff)? {
        o.quarantine_backoff = d;
    }
    if let Some(d) = duration("quarantine_backoff_max", &c.quarantine_backoff_max)? {
        o.quarantine_backoff_max = d;
    }
    if o.quarantine_backoff_max < o.quarantine_backoff {
        return Err((
            "quarantine_backoff_max".into(),
            "must not be shorter than quarantine_backoff".into(),
        ));
    }
    if let Some(b) = c.retry_quarantined {
        o.retry_quarantined = b;
    }
    if let Some(b) = c.full {
        o.full = b;
    }
    Ok(o)
}

/// Checks that the pair's connectors can do `flow`: the source side reads the flow's kind and
/// the other side writes it (and, for orders that create buyers, writes customers).
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
    if !from.capabilities.reads(kind) {
        return Err(format!(
            "the {} connector {:?} cannot read {}s, so the {flow} flow is not possible; remove [pairs.flows.{flow}]{}",
            side(from, accounting),
            from.name,
            kind.noun(),
            impossible_hint(flow)
        ));
    }
    if !to.capabilities.writes(kind) {
        return Err(format!(
            "the {} connector {:?} cannot write {}s, so the {flow} flow is not possible; remove [pairs.flows.{flow}]{}",
            side(to, accounting),
            to.name,
            kind.noun(),
            impossible_hint(flow)
        ));
    }
    if flow == Flow::Orders
        && options.create_customers
        && !to.capabilities.writes(koppel_core::Kind::Customer)
    {
        return Err(format!(
            "the orders flow creates missing buyers, but {:?} cannot write customers; set create_customers = false",
            to.name
        ));
    }
    Ok(())
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
