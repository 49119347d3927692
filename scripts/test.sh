#!/usr/bin/env bash
# The repository's test command: `scripts/test.sh [cargo test options]`.
#
# Runs `cargo test --workspace "$@"` and then the Python package's pytest
# suite (zeroipc-py/tests); fails if either fails (both always run).
#
# The cross-language tests and the Python package need a Python 3 with
# numpy, pytest, mypy and maturin, and the package itself (zeroipc_rs,
# built from ./zeroipc-py). Stock Debian and Ubuntu refuse `pip install`
# into the system Python (PEP 668, "externally-managed-environment"), so
# they go into a virtual environment of this repository instead: `.venv/`
# (gitignored; set ZEROIPC_VENV to use another folder). It is created on
# the first run, reused afterwards, and put first on PATH so that every
# `python3` the tests start is the venv's. zeroipc_rs is (re)installed
# when the sources it is built from changed since the last install (a
# stamp in the venv; maturin's release build, no build isolation so no
# download of build dependencies on each run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ZEROIPC_VENV:-$root/.venv}"
base_python="${PYTHON:-python3}"
py_deps=(numpy pytest mypy maturin)

fail() {
  echo "scripts/test.sh: $*" >&2
  exit 2
}

if [ ! -x "$venv/bin/python3" ]; then
  command -v "$base_python" >/dev/null 2>&1 ||
    fail "no '$base_python' on PATH; install Python 3 (Debian/Ubuntu: apt-get install python3 python3-venv)"
  echo "scripts/test.sh: creating a Python virtual environment in $venv" >&2
  if ! "$base_python" -m venv "$venv"; then
    rm -rf "$venv"
    fail "'$base_python -m venv' failed; on Debian/Ubuntu install its venv module: apt-get install python3-venv"
  fi
fi
if ! "$venv/bin/python3" -c 'import numpy, pytest, mypy, maturin' >/dev/null 2>&1; then
  echo "scripts/test.sh: installing ${py_deps[*]} into $venv" >&2
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check "${py_deps[@]}" ||
    fail "could not install ${py_deps[*]} into $venv (pip needs to reach the Python package index)"
  "$venv/bin/python3" -c 'import numpy, pytest, mypy, maturin' ||
    fail "${py_deps[*]} were installed into $venv but do not import"
fi

export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
resolved="$(command -v python3)"
[ "$resolved" = "$venv/bin/python3" ] ||
  fail "python3 resolves to $resolved, not the venv's $venv/bin/python3"

cd "$root"

# zeroipc_rs: reinstall when its inputs changed (the package, the runtime it
# links, the lock file and the workspace manifest).
stamp="$venv/.zeroipc_rs.stamp"
inputs_hash="$(
  find zeroipc-py zeroipc/src Cargo.lock Cargo.toml zeroipc/Cargo.toml zeroipc-derive \
    -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.py' -o -name '*.pyi' -o -name 'py.typed' -o -name 'Cargo.lock' -o -name '*.md' \) \
    -not -path '*/target/*' -not -path '*/__pycache__/*' -not -path 'zeroipc-py/tests/*' \
    -not -path 'zeroipc-py/benches/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$inputs_hash" ] || ! python3 -c 'import zeroipc_rs' >/dev/null 2>&1; then
  echo "scripts/test.sh: building and installing zeroipc_rs (./zeroipc-py) into $venv" >&2
  python3 -m pip install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./zeroipc-py ||
    fail "could not build/install ./zeroipc-py (see the maturin output above)"
  echo "$inputs_hash" >"$stamp"
fi

set +e
cargo test --workspace "$@"
cargo_status=$?
python3 -m pytest -q zeroipc-py/tests
pytest_status=$?
set -e
[ "$cargo_status" -eq 0 ] || fail "cargo test --workspace failed (exit $cargo_status); pytest exit $pytest_status"
[ "$pytest_status" -eq 0 ] || fail "the pytest suite zeroipc-py/tests failed (exit $pytest_status)"
