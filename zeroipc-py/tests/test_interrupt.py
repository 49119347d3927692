"""Ctrl-C during a blocking call: a child Python process blocked in
`Queue.pop_timeout(60)` (and in `Queue.pop_timeout(None)`, in
`Mutex.lock_timeout(60)` and `Mutex.lock()` on a mutex another process
holds, and in `Channel.recv()` on an empty channel) gets SIGINT and must leave with
KeyboardInterrupt long before its timeout (the GIL is released and signals
are checked between wait slices). The bound is deliberately generous (10 s
against a 60 s wait): it tells "interrupted" from "waited it out", it does
not measure latency (the benchmark script reports that)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import zeroipc_rs as z

# The child restores Python's SIGINT handler: a process started with SIGINT
# ignored (a background job of a shell without job control, as some CI
# runners start the tests) passes that on, and Python then installs none.
CHILD = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import zeroipc_rs as z
seg = z.Segment.open(sys.argv[1])
what = sys.argv[2]
if what == "pop":
    q = z.Queue.open(seg, "q", np.uint64)
    block = lambda: q.pop_timeout(60.0)
elif what == "pop-forever":
    q = z.Queue.open(seg, "q", np.uint64)
    block = lambda: q.pop_timeout(None)
elif what == "lock":
    m = z.Mutex.open(seg, "m")
    block = lambda: m.lock_timeout(60.0)
elif what == "lock-forever":
    m = z.Mutex.open(seg, "m")
    block = lambda: m.lock()
else:
    c = z.Channel.open(seg, "c", np.uint64)
    block = lambda: c.recv()
print("ready", flush=True)
t0 = time.monotonic()
try:
    block()
except KeyboardInterrupt:
    print(f"interrupted {time.monotonic() - t0:.3f}", flush=True)
    sys.exit(3)
print("not interrupted", flush=True)
"""


@pytest.mark.parametrize("what", ["pop", "pop-forever", "lock", "lock-forever", "recv-forever"])
def test_sigint_interrupts_a_blocking_call(shm_name: str, what: str) -> None:
    seg = z.Segment.create(shm_name, 1 << 16)
    z.Queue.create(seg, "q", 8, np.uint64)
    c = z.Channel.create(seg, "c", 4, np.uint64)
    m = z.Mutex.create(seg, "m")
    guard = m.lock()  # held here, so the child's lock blocks
    p = subprocess.Popen([sys.executable, "-c", CHILD, shm_name, what], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == b"ready"
        time.sleep(0.3)  # let it enter the wait
        assert p.poll() is None, "the child did not block"
        sent = time.monotonic()
        os.kill(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        if p.poll() is None:
            p.kill()
        guard.unlock()
    assert p.returncode == 3, (p.returncode, out, err)
    assert out.startswith(b"interrupted"), out
    assert took < 10
    # The interrupted wait left the structures as they were.
    assert z.Queue.open(seg, "q", np.uint64).is_empty()
    assert c.is_empty() and not c.is_closed()
    assert not m.is_locked()
