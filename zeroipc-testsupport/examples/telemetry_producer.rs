//! The Rust half of README.md's "From Python" example: creates the
//! `Telemetry` segment of `schemas/telemetry.toml` through the generated
//! Rust module and pushes events into its `events` queue, the last one a
//! `Shutdown`; `zeroipc-py/examples/telemetry_consumer.py` pops them in
//! Python. Run:
//!
//! ```sh
//! cargo run -p zeroipc-testsupport --example telemetry_producer -- /plant
//! ```

#[path = "../../schemas/generated/common.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod common;
#[path = "../../schemas/generated/telemetry.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod telemetry;

use std::time::Duration;
use telemetry::{Event, EventKind, Telemetry};
use zeroipc::{FixedStr, OpenEnum};

fn event(seq: u16, kind: EventKind, value: f32, message: &str) -> Event {
    Event {
        stamp: common::Stamp {
            ns: u64::from(seq) * 1_000_000,
            seq: u32::from(seq),
            source: 1,
            _pad0: [0; 2],
        },
        kind: OpenEnum::new(kind),
        sensor_id: seq,
        value,
        message: FixedStr::new(message).expect("fits in 40 bytes"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/plant".to_owned());
    let t = Telemetry::create(&name)?; // every structure + the __schema entry
    for i in 0..3 {
        let ev = event(i, EventKind::ThresholdHigh, 20.5 + f32::from(i), "too hot");
        t.events.push_timeout(ev, Duration::from_secs(10))?;
    }
    let last = event(3, EventKind::Shutdown, 0.0, "bye");
    t.events.push_timeout(last, Duration::from_secs(10))?;
    Ok(())
}
