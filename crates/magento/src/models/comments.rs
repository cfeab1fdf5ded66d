//! Order comments (status history): read and added.

use serde::{Deserialize, Serialize};

/// An order comment (`GET /V1/orders/{id}/comments`).
#[derive(Debug, Clone, Deserialize)]
pub struct WireComment {
    /// The text.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The body of `POST /V1/orders/{id}/comments`.
#[derive(Debug, Serialize)]
pub struct CommentEnvelope {
    /// The comment.
    #[serde(rename = "statusHistory")]
    pub status_history: CommentPayload,
}

/// A status history entry to add.
#[derive(Debug, Serialize)]
pub struct CommentPayload {
    /// Text.
    pub comment: String,
    /// 0/1.
    pub is_customer_notified: u8,
    /// 0/1.
    pub is_visible_on_front: u8,
    /// The order's entity id.
    pub parent_id: u64,
    /// Status after the comment.
    pub status: String,
}
