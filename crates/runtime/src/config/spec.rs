//! What a validated config holds: pairs with their connectors' descriptors and configs, and
//! their enabled flows; building a pair's connectors into an engine pair.

use std::fmt;

use koppel_core::engine::{Flow, FlowOptions, Pair};
use koppel_core::registry::{ConnectorContext, ConnectorDescriptor};
use koppel_core::Error;
use serde_json::Value;

use crate::schedule::Schedule;

/// A connector table after validation: its descriptor and its config without `type`.
#[derive(Clone)]
pub struct ConnectorSpec {
    /// The registered connector.
    pub descriptor: &'static ConnectorDescriptor,
    /// Its config (secrets resolved, `type` removed).
    pub config: Value,
}

impl fmt::Debug for ConnectorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the config: it holds secrets.
        f.debug_struct("ConnectorSpec")
            .field("type", &self.descriptor.name)
            .finish()
    }
}

/// One enabled flow of a pair.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    /// Which flow.
    pub flow: Flow,
    /// Its schedule in the daemon, if any.
    pub schedule: Option<Schedule>,
    /// Its engine options.
    pub options: FlowOptions,
}

/// A validated pair.
#[derive(Debug, Clone)]
pub struct PairSpec {
    /// The pair's name.
    pub name: String,
    /// Position in `pairs` (for key paths).
    pub index: usize,
    /// The accounting connector.
    pub accounting: ConnectorSpec,
    /// The shop connector.
    pub shop: ConnectorSpec,
    /// The enabled flows, in run order.
    pub flows: Vec<FlowSpec>,
}

impl PairSpec {
    /// A connector's config error with its key path from the top of the file
    /// (`orders.shipping_article` -> `pairs[0].accounting.orders.shipping_article`); other
    /// errors unchanged.
    pub fn side_error(&self, side: &str, e: Error) -> Error {
        match e {
            Error::Config { path, message } => {
                let base = format!("pairs[{}].{side}", self.index);
                let path = if path.is_empty() {
                    base
                } else {
                    format!("{base}.{path}")
                };
                Error::config(path, message)
            }
            other => other,
        }
    }

    /// Builds both connectors (no I/O) into an engine pair.
    pub fn build(&self) -> Result<Pair, Error> {
        let ctx = ConnectorContext {
            pair: self.name.clone(),
        };
        let accounting = (self.accounting.descriptor.factory)(self.accounting.config.clone(), &ctx)
            .map_err(|e| self.side_error("accounting", e))?;
        let shop = (self.shop.descriptor.factory)(self.shop.config.clone(), &ctx)
            .map_err(|e| self.side_error("shop", e))?;
        Ok(Pair {
            name: self.name.clone(),
            accounting,
            shop,
        })
    }

    /// The enabled flow, if it is.
    pub fn flow(&self, flow: Flow) -> Option<&FlowSpec> {
        self.flows.iter().find(|f| f.flow == flow)
    }
}
