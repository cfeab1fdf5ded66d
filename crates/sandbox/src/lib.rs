//! koppel sandbox
