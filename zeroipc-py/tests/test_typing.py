"""Typing: the shipped stubs (_native.pyi) agree with the compiled module
(mypy's stubtest), and `mypy --strict` passes on this test suite, the
examples and the benchmark script. Skipped only when mypy is not installed
(scripts/test.sh installs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytest.importorskip("mypy")

PY = REPO / "zeroipc-py"


def run(args: list[str], env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # The repository's stubs (zeroipc-py/python) ahead of the installed copy.
    env = dict(os.environ)
    env["MYPYPATH"] = str(PY / "python")
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=600, cwd=PY, env=env
    )


def test_stubs_match_the_compiled_module() -> None:
    p = run(["mypy.stubtest", "zeroipc_rs._native", "--allowlist", str(PY / "tests" / "stubtest-allowlist.txt")])
    assert p.returncode == 0, p.stdout + p.stderr


def test_mypy_strict_on_tests_examples_and_benches(tmp_path: Path) -> None:
    p = run(
        ["mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "tests", "examples", "benches"],
        {"MYPYPATH": f"{PY / 'python'}{os.pathsep}{REPO / 'schemas' / 'generated'}"},
    )
    assert p.returncode == 0, p.stdout + p.stderr
