//! The conformance set-up every shop connector shares: sink samples around an order the shop
//! already has, and the usual churn of its orders and customers. A shop's own test states
//! only its connector, simulator, config, products and churn at the simulator.

use std::future::Future;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::{mutator, Churn, Churned, Conformance, Hook, Mutator, Samples};
use crate::connector::{ReadRequest, Source};
use crate::model::{Kind, Money, OpenAmount, Order, PaymentStatus, Product, Sku, StockLevel};
use crate::registry::{ConnectorContext, ConnectorDescriptor};

/// A shop connector's own part of its conformance test; [`ShopConformance::conformance`] adds
/// the samples every shop shares and gives the [`Conformance`] to run.
pub struct ShopConformance {
    /// The connector's registration.
    pub descriptor: &'static ConnectorDescriptor,
    /// A config that works against the simulator (with order and customer page sizes small
    /// enough for the paging check to cross pages).
    pub good_config: serde_json::Value,
    /// The same config with wrong credentials.
    pub bad_credentials_config: serde_json::Value,
    /// Every secret value in both configs: none may appear in the captured logs.
    pub secrets: Vec<String>,
    /// Products to write (tax classes and categories the simulator accepts).
    pub products: Vec<Product>,
    /// SKUs the shop has: the stock sink writes a quantity of 7 for each.
    pub stock: Vec<Sku>,
    /// Turns the simulator's malformed-record fault on and off, when it has one.
    pub malformed: Option<Hook<bool>>,
    /// Changes records at the simulator between two page reads (usually [`shop_churn`] or
    /// [`records_churn`](super::records_churn)).
    pub churn: Option<Mutator>,
}

impl ShopConformance {
    /// The kit for this shop. With an order source, its first order read (no `since`) gives
    /// the open-amount and payment samples: invoice `F-1` over the order's grand total, open
    /// in full and paid in full. No `touch` hook, the default context.
    ///
    /// Panics when the connector cannot be built or the shop has no order to read.
    pub async fn conformance(self) -> Conformance {
        let context = ConnectorContext::default();
        let name = self.descriptor.name;
        let connector = (self.descriptor.factory)(self.good_config.clone(), &context)
            .unwrap_or_else(|e| panic!("{name}: the good config builds no connector: {e}"));
        let (open_amounts, payments) = match connector.endpoints().order_source {
            Some(orders) => invoiced(&first_order(name, orders).await),
            None => (Vec::new(), Vec::new()),
        };
        let stock = self
            .stock
            .into_iter()
            .map(|sku| StockLevel {
                sku,
                quantity: Decimal::from(7),
                source_id: None,
                modified: None,
            })
            .collect();
        Conformance {
            descriptor: self.descriptor,
            good_config: self.good_config,
            bad_credentials_config: self.bad_credentials_config,
            secrets: self.secrets,
            samples: Samples {
                products: self.products,
                stock,
                open_amounts,
                payments,
                ..Default::default()
            },
            malformed: self.malformed,
            touch: None,
            churn: self.churn,
            context,
        }
    }

    /// Builds the kit, runs every check (printing each) and panics if one fails.
    pub async fn assert_conforms(self) {
        self.conformance().await.assert_conforms().await;
    }
}

/// The first order the shop returns (no `since`).
async fn first_order(name: &str, orders: Arc<dyn Source<Order>>) -> Order {
    let page = orders
        .read(&ReadRequest::default())
        .await
        .unwrap_or_else(|e| panic!("{name}: reading an order failed: {e}"));
    page.items
        .into_iter()
        .flatten()
        .next()
        .unwrap_or_else(|| panic!("{name}: the simulator has no order"))
}

/// `order` invoiced as `F-1` over its grand total: open in full, and paid in full.
fn invoiced(order: &Order) -> (Vec<OpenAmount>, Vec<PaymentStatus>) {
    let total = Money::eur(order.grand_total);
    let open = OpenAmount {
        order_number: order.number.clone(),
        invoice_number: "F-1".into(),
        invoice_amount: total.clone(),
        open_amount: total.clone(),
        due_date: None,
        modified: None,
    };
    let paid = PaymentStatus {
        order_number: order.number.clone(),
        invoice_number: "F-1".into(),
        paid: true,
        paid_amount: total,
        modified: None,
    };
    (vec![open], vec![paid])
}

/// What [`shop_churn`] asks the simulator to do with a shop's orders or customers, by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopChurn {
    /// `orders` or `customers`.
    pub resource: &'static str,
    /// Records to change (their change time moves to now).
    pub change: Vec<String>,
    /// Records to remove.
    pub remove: Vec<String>,
    /// How many records to add.
    pub add: usize,
}

/// The shops' churn for the paging check: for orders and customers, change the first record
/// read and the first unread, remove the second read (or else the second unread) and add one;
/// `apply` does that at the simulator and returns the keys it added. Other kinds are not
/// exercised (`None`).
pub fn shop_churn<F, Fut>(apply: F) -> Mutator
where
    F: Fn(ShopChurn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<String>> + Send + 'static,
{
    let apply = Arc::new(apply);
    mutator(move |c: Churn| {
        let apply = apply.clone();
        async move {
            let resource = match c.kind {
                Kind::Order => "orders",
                Kind::Customer => "customers",
                _ => return None,
            };
            let change: Vec<String> = [c.read.first(), c.unread.first()]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let remove: Vec<String> = c.read.get(1).or(c.unread.get(1)).into_iter().cloned().collect();
            let added = apply(ShopChurn {
                resource,
                change: change.clone(),
                remove: remove.clone(),
                add: 1,
            })
            .await;
            Some(Churned {
                changed: change,
                removed: remove,
                added,
            })
        }
    })
}
