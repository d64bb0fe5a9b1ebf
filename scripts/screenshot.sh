#!/usr/bin/env bash
# Regenerates the README's picture, docs/playground.png: runs the browser test that takes it (a
# /generate, then a reroll in progress under its result) and saves the screenshot there. The test
# suite itself only ever writes it under a temporary folder.
# Needs what scripts/test.sh installs (.venv with the test extra, Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n 0 -m "" --screenshot docs/playground.png \
  "tests/playground/test_browser_acceptance.py::test_generate_with_a_model_from_the_list_shows_progress_then_the_image_and_rerolls" "$@"
