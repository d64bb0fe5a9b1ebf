#!/usr/bin/env bash
# Sets up .venv (if needed) with the package and its test extra, then runs the whole test suite.
# Exit status is pytest's; "no tests collected" (5) counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,dev]'
.venv/bin/python -m pytest "$@"
