//! Invoices: the order history text written for open amounts and payments.

/// Fills a history template: `{invoice}`, `{amount}`, `{total}`, `{due}`.
pub fn fill(template: &str, invoice: &str, amount: &str, total: &str, due: &str) -> String {
    template
        .replace("{invoice}", invoice)
        .replace("{amount}", amount)
        .replace("{total}", total)
        .replace("{due}", due)
}
