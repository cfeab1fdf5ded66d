//! Records that replace earlier ones at their source ([`Record::replaces`]) and records
//! withdrawn there ([`Record::withdrawn`]): a Magento order edit cancels `100000123` and
//! creates `100000123-1`. The successor of an exported order is a change of that export (the
//! sink gets the predecessor's target id and last written payload), never a second write; a
//! withdrawn record that was never written is not written at all.

use crate::error::Result;
use crate::model::Record;
use crate::state::{Binding, StateStore};

/// The binding of `record`, or else of its nearest predecessor that has one.
pub(crate) async fn binding_or_predecessor<R: Record>(
    store: &dyn StateStore,
    pair: &str,
    record: &R,
    key: &str,
) -> Result<Option<Binding>> {
    if let Some(b) = store.binding(pair, R::KIND, key).await? {
        return Ok(Some(b));
    }
    for prev in record.replaces() {
        if prev == key {
            continue;
        }
        if let Some(b) = store.binding(pair, R::KIND, &prev).await? {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

/// Why a record is skipped: withdrawn at the source and never written (nor a predecessor).
pub(crate) fn skip_reason<R: Record>(record: &R, binding: Option<&Binding>) -> Option<String> {
    (binding.is_none() && record.withdrawn()).then(|| {
        format!(
            "{} was withdrawn at the source (cancelled) before it was written: not imported",
            record.label()
        )
    })
}
