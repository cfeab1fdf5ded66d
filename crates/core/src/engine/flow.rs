//! The generic flow pipeline.
