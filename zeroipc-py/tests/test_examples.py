"""README.md's "From Python" section: its snippets run, and the producer and
consumer it shows are the example files, which run end to end (the Rust
producer creates the telemetry segment and pushes events, the Python
consumer pops them through the generated module)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

from conftest import REPO, _target_dir

README = (REPO / "README.md").read_text()
PRODUCER = REPO / "zeroipc-testsupport" / "examples" / "telemetry_producer.rs"
CONSUMER = REPO / "zeroipc-py" / "examples" / "telemetry_consumer.py"


def section() -> str:
    start = README.index("## From Python")
    return README[start : README.index("\n## ", start + 1)]


def blocks(lang: str) -> List[str]:
    return re.findall(r"```" + lang + r"\n(.*?)```", section(), re.S)


def test_readme_shows_the_example_files_verbatim() -> None:
    prod, cons = PRODUCER.read_text(), CONSUMER.read_text()
    assert blocks("rust,ignore") == [prod[prod.index("use std::time") :]]
    assert blocks("python")[1] == cons[cons.index("import sys") :]


def test_readme_python_snippet_runs() -> None:
    code = blocks("python")[0].replace('"/jobs"', f'"/zipy-readme-{os.getpid()}"')
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_rust_producer_python_consumer() -> None:
    subprocess.run(
        ["cargo", "build", "-q", "-p", "zeroipc-testsupport", "--example", "telemetry_producer"],
        cwd=REPO,
        check=True,
    )
    name = f"/zipy-plant-{os.getpid()}"
    producer = _target_dir() / "debug" / "examples" / "telemetry_producer"
    subprocess.run([str(producer), name], check=True, timeout=60)
    env = dict(os.environ, PYTHONPATH=str(REPO / "schemas" / "generated"))
    p = subprocess.run(
        [sys.executable, str(CONSUMER), name], capture_output=True, text=True, timeout=60, env=env, cwd=REPO
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "0 ThresholdHigh 20.5 too hot",
        "1 ThresholdHigh 21.5 too hot",
        "2 ThresholdHigh 22.5 too hot",
        "3 Shutdown 0.0 bye",
    ]
    assert not Path(f"/dev/shm/{name[1:]}").exists()  # the consumer unlinked it
