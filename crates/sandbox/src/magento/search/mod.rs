//! `searchCriteria` as Magento reads it from a PHP-style bracketed query string
//! (`searchCriteria[filter_groups][0][filters][1][condition_type]=eq`), its evaluation over
//! JSON records (OR within a filter group, AND across groups, sort, paging), and the `fields=`
//! response filter: one file each (`query`, `criteria`, `eval`, `fields`).

mod criteria;
mod eval;
mod fields;
mod query;

pub use criteria::{Filter, SearchCriteria};
pub use eval::{run, Aliased, Fields, Paging, TopLevel};
pub use fields::{apply_fields, parse_fields, FieldSel};
pub use query::{parse_nested, Node};
