#!/usr/bin/env bash
# Sets up .venv (if needed) with the package, then runs the bot (`discomfy run`, extra args passed on).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
exec .venv/bin/discomfy run "$@"
