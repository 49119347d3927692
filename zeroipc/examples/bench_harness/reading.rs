// The record of the numpy scan. This file is also `include!`d by the
// program `--regen-dtype` builds to regenerate `benches/bench_types.py`
// with zeroipc-gen's Python emitter, so it holds only the type.

/// One sensor reading: the record the numpy scan reads.
#[derive(Clone, Copy, Debug, PartialEq, zeroipc::ShmLayout)]
#[repr(C)]
pub struct Reading {
    /// Nanoseconds since the epoch.
    pub timestamp: u64,
    /// Sensor id.
    pub sensor: u32,
    /// 0 ok, 1 warning, 2 fault.
    pub status: u32,
    /// Measured value.
    pub value: f64,
    /// Lower and upper alarm bounds.
    pub bounds: [f32; 2],
}
