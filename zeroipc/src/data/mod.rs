//! Data structures: each in its own module, created and opened by name.

pub mod array;
pub mod queue;
pub mod stack;
