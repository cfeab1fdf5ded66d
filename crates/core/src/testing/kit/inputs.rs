//! What a connector test hands the kit besides configs: async hooks into its simulator, the
//! churn mutator for the paging check, and sample records for the sinks.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::model::{Customer, Kind, OpenAmount, Order, PaymentStatus, Product, StockLevel};

/// An async hook the connector test supplies (e.g. turn the simulator's malformed fault on).
pub type Hook<T> = Arc<dyn Fn(T) -> BoxFuture<'static, ()> + Send + Sync>;

/// Wraps an async closure as a [`Hook`].
pub fn hook<T, F, Fut>(f: F) -> Hook<T>
where
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |t| Box::pin(f(t)))
}

/// What the kit asks a [`Mutator`] to do between the first and the second page of a read
/// (the paging-under-change check): change some records (so that their change time moves
/// past the read's `until`), remove some and add some, preferably among the records already
/// read, since those are the ones whose change shifts an offset-paged read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Churn {
    /// The record kind being read.
    pub kind: Kind,
    /// Keys ([`Record::key`]) of the records on the first page, in read order.
    ///
    /// [`Record::key`]: crate::model::Record::key
    pub read: Vec<String>,
    /// Keys of the records of the window not read yet, in the order a read without changes
    /// returns them.
    pub unread: Vec<String>,
}

/// What a [`Mutator`] did, by record key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Churned {
    /// Records changed (their change time is now after the read's `until`).
    pub changed: Vec<String>,
    /// Records removed.
    pub removed: Vec<String>,
    /// Records added (changed after the read's `until`).
    pub added: Vec<String>,
}

/// Changes records at the simulator between two page reads; `None` when it cannot change
/// records of this kind (the check is then reported as not exercised).
pub type Mutator = Arc<dyn Fn(Churn) -> BoxFuture<'static, Option<Churned>> + Send + Sync>;

/// Wraps an async closure as a [`Mutator`].
pub fn mutator<F, Fut>(f: F) -> Mutator
where
    F: Fn(Churn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Churned>> + Send + 'static,
{
    Arc::new(move |c| Box::pin(f(c)))
}

/// Records the kit writes through each sink the connector offers (they must be valid for the
/// simulator: SKUs it knows, and so on).
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// For `Sink<Product>`.
    pub products: Vec<Product>,
    /// For `Sink<StockLevel>`.
    pub stock: Vec<StockLevel>,
    /// For `Sink<Customer>`.
    pub customers: Vec<Customer>,
    /// For `Sink<Order>` (buyers are created through the connector's `Sink<Customer>`).
    pub orders: Vec<Order>,
    /// For `Sink<OpenAmount>`.
    pub open_amounts: Vec<OpenAmount>,
    /// For `Sink<PaymentStatus>`.
    pub payments: Vec<PaymentStatus>,
}
