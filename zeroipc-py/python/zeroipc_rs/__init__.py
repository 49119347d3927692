"""Python on the zeroipc Rust runtime.

Every ZeroIPC v2 shared-memory structure (Array, Queue, Stack, Ring, Pool,
Map, Set, the synchronisation kinds and the codata kinds) through the Rust
runtime's protocol code, so Python processes get the same atomics as Rust and
C++ processes on the same bytes. Element types are numpy dtypes.

>>> import numpy as np, os
>>> from zeroipc_rs import Segment, Queue
>>> name = f"/zeroipc-py-doc-{os.getpid()}"
>>> seg = Segment.create(name, 1 << 16)
>>> q = Queue.create(seg, "jobs", 8, np.uint64)
>>> q.push(7)
True
>>> int(q.pop())
7
>>> Segment.unlink(name)
"""

from ._native import *  # noqa: F401,F403
from ._native import __all__ as __all__
from ._native import __version__ as __version__
