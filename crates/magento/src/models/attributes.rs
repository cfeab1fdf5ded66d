//! Product attributes: the options of a select attribute.

use serde::Deserialize;

use super::lenient::de_opt_text;

/// An option of a select attribute.
#[derive(Debug, Clone, Deserialize)]
pub struct AttributeOption {
    /// Label in the admin store.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub label: Option<String>,
    /// Option id (text); `""` for the empty option.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub value: Option<String>,
}
