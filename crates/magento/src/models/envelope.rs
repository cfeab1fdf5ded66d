//! What answers are wrapped in: a `searchCriteria` page and Magento's error body.

use serde::Deserialize;

/// A `searchCriteria` list response.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResult<T> {
    /// The page's items.
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    /// Matches over all pages.
    #[serde(default)]
    pub total_count: u64,
}

/// Magento's error body: `{message, parameters, errors?, trace?}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    /// Message with `%1` / `%name` placeholders.
    #[serde(default)]
    pub message: String,
    /// Positional (array) or named (object) placeholder values.
    #[serde(default)]
    pub parameters: Option<serde_json::Value>,
    /// Further errors (validation of several fields).
    #[serde(default)]
    pub errors: Vec<ErrorBody>,
}
