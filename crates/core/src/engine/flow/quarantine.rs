//! Quarantine: what went wrong with a record ([`Failure`]) and parking it ([`park`]).

use chrono::Utc;
use serde_json::Value;

use super::{Ctx, StopResult};
use crate::connector::CHANGED_AFTER_EXPORT;
use crate::error::{Error, Rejection};
use crate::model::Kind;
use crate::state::QuarantineEntry;

pub(super) struct Failure {
    pub(super) class: String,
    pub(super) field: Option<String>,
    pub(super) code: Option<String>,
    pub(super) message: String,
}

impl Failure {
    pub(super) fn from_error(e: &Error) -> Self {
        match e {
            Error::Rejected(r) => Failure {
                class: if r.code.as_deref() == Some(CHANGED_AFTER_EXPORT) {
                    CHANGED_AFTER_EXPORT.into()
                } else {
                    e.class().into()
                },
                field: r.field.clone(),
                code: r.code.clone(),
                message: r.message.clone(),
            },
            other => Failure {
                class: other.class().into(),
                field: None,
                code: None,
                message: other.to_string(),
            },
        }
    }

    pub(super) fn from_rejection(class: &str, r: &Rejection) -> Self {
        Failure {
            class: class.into(),
            field: r.field.clone(),
            code: r.code.clone(),
            message: r.message.clone(),
        }
    }

    pub(super) fn plain(class: &str, message: String) -> Self {
        Failure {
            class: class.into(),
            field: None,
            code: None,
            message,
        }
    }

    pub(super) fn line(&self, label: &str) -> String {
        let mut s = format!("{label}: ");
        if let Some(f) = &self.field {
            s.push_str(f);
            s.push_str(": ");
        }
        if let Some(c) = &self.code {
            s.push_str(&format!("[{c}] "));
        }
        s.push_str(&self.message);
        s
    }
}

/// Parks a record in quarantine (not in a plan); returns the report line.
#[allow(clippy::too_many_arguments)]
pub(super) async fn park(
    ctx: &Ctx<'_>,
    kind: Kind,
    key: &str,
    label: &str,
    payload: Option<&Value>,
    failure: &Failure,
) -> StopResult<String> {
    let line = failure.line(label);
    if ctx.plan {
        return Ok(line);
    }
    let existing = ctx.store.quarantine_entry(&ctx.pair.name, kind, key).await?;
    let attempts = existing.as_ref().map_or(0, |e| e.attempts) + 1;
    let now = Utc::now();
    let entry = QuarantineEntry {
        pair: ctx.pair.name.clone(),
        flow: ctx.flow,
        kind,
        key: key.to_owned(),
        label: label.to_owned(),
        field: failure.field.clone(),
        code: failure.code.clone(),
        reason: failure.message.clone(),
        error_class: failure.class.clone(),
        payload: payload.cloned(),
        attempts,
        first_at: existing.as_ref().map_or(now, |e| e.first_at),
        last_at: now,
        next_attempt: now + ctx.backoff(attempts),
    };
    ctx.store.put_quarantine(&entry).await?;
    tracing::warn!(pair = %ctx.pair.name, flow = %ctx.flow, record = %label, class = %failure.class, attempts, "quarantined: {}", line);
    Ok(line)
}
