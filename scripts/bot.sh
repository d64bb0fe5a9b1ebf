#!/usr/bin/env bash
# Sets up .venv (if needed) with the package, then runs the bot (`discomfy run`, extra args passed on).
# Without a Discord token it starts the playground instead (`discomfy play`): the same bot, in a
# browser page, against a local stand-in for Discord. A settings file that is not valid TOML stops
# it with the file, line and column to fix.
set -euo pipefail
cd "$(dirname "$0")/.."

# Install only when .venv is new or pyproject.toml changed since the last install (a copy of it
# is kept in .venv): the install is editable, so code edits need none, and a reinstall costs
# 8-12 s and pages of build output on every start.
installed=.venv/discomfy-installed-pyproject.toml
if [ ! -x .venv/bin/python ] || ! cmp -s pyproject.toml "$installed"; then
  echo "Installing DisComfy into .venv (first start, or pyproject.toml changed)…"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  cp pyproject.toml "$installed"
fi

# 0: a token is set; 3: none; anything else: the settings cannot be read (the reason is printed).
token=0
.venv/bin/python - <<'PY' || token=$?
import sys
from discomfy.config import ConfigError, get_config
try:
    config = get_config()
except ConfigError as exc:
    sys.exit(exc.user_message)
sys.exit(0 if str(config.discord.token or "").strip() else 3)
PY
case "$token" in
  0) exec .venv/bin/discomfy run "$@" ;;
  3) ;;
  *) exit 1 ;;
esac
echo "No Discord token, so this starts the playground (the bot in your browser, no Discord needed); to connect" \
     "a real Discord bot, put token = \"...\" under [discord] in .secrets.toml (or set DISCOMFY_DISCORD__TOKEN) and run this again."
exec .venv/bin/discomfy play "$@"
