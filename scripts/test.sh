#!/usr/bin/env bash
# Sets up .venv (if needed) with the package and its test extra, then runs the whole test suite,
# in parallel worker processes (pyproject's addopts), the exhaustive matrices included.
# Exit status is pytest's; "no tests collected" (5) counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# The playground's browser tests drive Debian's Chromium (Playwright with the system browser,
# never a browser download); the emoji font makes the README screenshot show the buttons' emoji.
# The container test builds and runs the image with podman (runc; debootstrap makes the base image
# where no registry answers). The job-store tests start a throwaway PostgreSQL server (postgresql).
if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] ||
   [ ! -x /usr/bin/podman ] || [ ! -x /usr/sbin/runc ] || [ ! -x /usr/sbin/debootstrap ] ||
   ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  packages="chromium chromium-driver fonts-noto-color-emoji podman runc debootstrap postgresql"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  else
    echo "scripts/test.sh: Chromium or podman is missing and this user cannot install it; the browser and" \
         "container tests will fail until someone runs: sudo apt-get install -y $packages" >&2
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,dev]'
# -m "" lifts pyproject's `-m 'not exhaustive'`: this runs everything, the crash-point matrix too.
.venv/bin/python -m pytest -m "" "$@"
