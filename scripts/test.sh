#!/usr/bin/env bash
# The repository's test command: `scripts/test.sh [cargo test options]`.
#
# The cross-language tests run `python3` with numpy. Stock Debian and
# Ubuntu refuse `pip install` into the system Python (PEP 668,
# "externally-managed-environment"), so numpy goes into a virtual
# environment of this repository instead: `.venv/` (gitignored; set
# ZEROIPC_VENV to use another folder). It is created on the first run,
# reused afterwards, and put first on PATH so that every `python3` the
# tests start is the venv's. Then: `cargo test --workspace "$@"`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ZEROIPC_VENV:-$root/.venv}"
base_python="${PYTHON:-python3}"

fail() {
  echo "scripts/test.sh: $*" >&2
  exit 2
}

if ! "$venv/bin/python3" -c 'import numpy' >/dev/null 2>&1; then
  if [ ! -x "$venv/bin/python3" ]; then
    command -v "$base_python" >/dev/null 2>&1 ||
      fail "no '$base_python' on PATH; install Python 3 (Debian/Ubuntu: apt-get install python3 python3-venv)"
    echo "scripts/test.sh: creating a Python virtual environment in $venv for numpy" >&2
    if ! "$base_python" -m venv "$venv"; then
      rm -rf "$venv"
      fail "'$base_python -m venv' failed; on Debian/Ubuntu install its venv module: apt-get install python3-venv"
    fi
  fi
  echo "scripts/test.sh: installing numpy into $venv" >&2
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check numpy ||
    fail "could not install numpy into $venv (pip needs to reach the Python package index)"
  "$venv/bin/python3" -c 'import numpy' ||
    fail "numpy was installed into $venv but does not import"
fi

export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
resolved="$(command -v python3)"
[ "$resolved" = "$venv/bin/python3" ] ||
  fail "python3 resolves to $resolved, not the venv's $venv/bin/python3"

cd "$root"
exec cargo test --workspace "$@"
