"""Shared fixtures of the zeroipc_rs pytest suite.

- `shm_name`: a segment name unique to this process and test, unlinked
  afterwards (whether or not the test created it).
- `peer`: the path of the Rust peer program (zeroipc-testsupport's example
  `py_peer`), built with cargo on first use; `run_peer(*args)` runs it.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator, List, Optional, TypeVar

import pytest

import zeroipc_rs

REPO = Path(__file__).resolve().parents[2]
_counter = itertools.count()
T = TypeVar("T")


def some(v: Optional[T]) -> T:
    """`v`, asserted not None (a value the test knows is there)."""
    assert v is not None
    return v


@pytest.fixture
def shm_name() -> Iterator[str]:
    name = f"/zipy-{os.getpid()}-{next(_counter)}"
    yield name
    try:
        zeroipc_rs.Segment.unlink(name)
    except zeroipc_rs.SegmentNotFoundError:
        pass


def _target_dir() -> Path:
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return Path(json.loads(out)["target_directory"])


@pytest.fixture(scope="session")
def peer() -> Path:
    """The Rust peer binary (ZEROIPC_PY_PEER overrides the cargo build)."""
    given = os.environ.get("ZEROIPC_PY_PEER")
    if given:
        return Path(given)
    subprocess.run(
        ["cargo", "build", "-q", "-p", "zeroipc-testsupport", "--example", "py_peer"],
        cwd=REPO,
        check=True,
    )
    path = _target_dir() / "debug" / "examples" / "py_peer"
    assert path.exists(), path
    return path


@pytest.fixture
def run_peer(peer: Path) -> Callable[..., str]:
    """Runs the peer to completion; returns stdout, fails with stderr."""

    def run(*args: object) -> str:
        p = subprocess.run([str(peer), *map(str, args)], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, f"py_peer {args}: exit {p.returncode}\n{p.stderr}"
        return p.stdout

    return run


def python_child(code: str, *args: str) -> List[str]:
    """argv of a child Python running `code` with this interpreter."""
    return [sys.executable, "-c", code, *args]
