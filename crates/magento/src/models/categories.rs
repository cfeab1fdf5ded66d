//! Categories: the tree of `GET /V1/categories` and a created category.

use serde::Deserialize;

use super::lenient::de_id;

/// A node of `GET /V1/categories`.
#[derive(Debug, Clone, Deserialize)]
pub struct CategoryNode {
    /// Category id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Children.
    #[serde(default)]
    pub children_data: Vec<CategoryNode>,
}

/// A created category (`POST /V1/categories` answers the category).
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedCategory {
    /// New id.
    #[serde(deserialize_with = "de_id")]
    pub id: u64,
}
