//! Data structures: each in its own module, created and opened by name.

pub mod array;
pub mod map;
pub mod pool;
pub mod queue;
pub mod ring;
pub mod set;
pub mod stack;
