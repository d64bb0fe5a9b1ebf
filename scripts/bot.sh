#!/usr/bin/env bash
# Sets up .venv (if needed) with the package, then runs the bot (`discomfy run`, extra args passed on).
# Without a Discord token it starts the playground instead (`discomfy play`): the same bot, in a
# browser page, against a local stand-in for Discord.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
if .venv/bin/python -c 'import sys; from discomfy.config import get_config
sys.exit(0 if str(get_config().discord.token or "").strip() else 1)' 2>/dev/null; then
  exec .venv/bin/discomfy run "$@"
fi
echo "No Discord token, so this starts the playground (the bot in your browser, no Discord needed); to connect" \
     "a real Discord bot, put token = \"...\" under [discord] in .secrets.toml (or set DISCOMFY_DISCORD__TOKEN) and run this again."
exec .venv/bin/discomfy play "$@"
