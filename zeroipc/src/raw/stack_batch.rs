//! Batch operations (issue 15): see the parent module.
