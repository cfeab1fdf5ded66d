//! Changes between two page reads, for the conformance kit's paging-under-change check.

use chrono::Utc;

use super::{local_time, Rec, Shop};

impl Shop {
    /// Changes records between two page reads (the conformance kit's paging-under-change
    /// check): the records `change` get `date_upd` = now, the records `remove` are deleted
    /// (orders with their details and history), and `add` copies of the first changed record
    /// (or of the last one) are added with new ids and `date_add`/`date_upd` = now; an order
    /// copy gets copies of its details, a customer copy its own e-mail. Only `orders` and
    /// `customers`; returns the ids added.
    pub fn churn(&mut self, res: &'static str, change: &[u64], remove: &[u64], add: usize) -> Vec<u64> {
        if !matches!(res, "orders" | "customers") {
            return Vec::new();
        }
        let now = local_time(Utc::now(), self.tz);
        for id in change {
            if let Some(r) = self.table_mut(res).get_mut(id) {
                r.set("date_upd", now.clone());
            }
        }
        let template = change
            .iter()
            .find_map(|id| self.get(res, *id).map(|r| (*id, r.clone())))
            .or_else(|| {
                self.table(res)
                    .and_then(|t| t.iter().next_back().map(|(id, r)| (*id, r.clone())))
            });
        for id in remove {
            self.table_mut(res).remove(id);
            if res == "orders" {
                let of_order = |r: &Rec| r.get("id_order") == id.to_string();
                self.table_mut("order_details").retain(|_, r| !of_order(r));
                self.table_mut("order_histories").retain(|_, r| !of_order(r));
            }
        }
        let mut added = Vec::new();
        let Some((from, template)) = template else {
            return added;
        };
        for _ in 0..add {
            let id = self.take_id(res);
            let mut rec = template.clone();
            rec.set("date_add", now.clone());
            rec.set("date_upd", now.clone());
            if res == "customers" {
                rec.set("email", format!("churn{id}@example.nl"));
            } else {
                rec.set("reference", format!("CHURN{id:04}"));
                let details: Vec<Rec> = self
                    .table("order_details")
                    .map(|t| {
                        t.values()
                            .filter(|r| r.get("id_order") == from.to_string())
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                for mut d in details {
                    d.set("id_order", id.to_string());
                    let did = self.take_id("order_details");
                    self.table_mut("order_details").insert(did, d);
                }
            }
            self.table_mut(res).insert(id, rec);
            added.push(id);
        }
        added
    }
}
