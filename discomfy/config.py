"""Configuration: packaged defaults < ./settings.toml < ./.secrets.toml < DISCOMFY_* environment.

``get_config()`` builds a fresh dynaconf object every time (no module-level settings object),
so the CLI builds one at start and tests build their own from a temporary folder. The named
validators below run together and report every problem at once, each naming the key, what is
wrong with it and where to fix it: a bot owner fixes a config in one pass, not five restarts.
The owner's files are read with ``tomllib`` first (``config_files``), so a file that is not
TOML is reported with its line and column instead of dynaconf's traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dynaconf import Dynaconf, Validator

from discomfy.config_files import ENV_PREFIX, USER_FILES, fix_where, read_user_files
from discomfy.core.scheduling.policy import POLICIES
from discomfy.exceptions import DisComfyError
from discomfy.utils.plain_urls import plain_url_problem

DEFAULTS_FILE = Path(__file__).with_name("settings.toml")


class ConfigError(DisComfyError):
    """The settings are unusable; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        text = "Configuration problems:\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(text, detail=text)


def get_config(root: str | Path | None = None, *, purpose: str | None = None) -> Dynaconf:
    """Load settings for the project in ``root`` (default: the working directory).

    ``purpose`` selects the validators to run: ``"run"`` also requires a Discord token,
    ``"offline"`` checks everything but the token, ``None`` checks nothing. A file that is not
    valid TOML raises ``ConfigError`` whatever the purpose.
    """
    root = Path(root) if root is not None else Path(os.environ.get("DISCOMFY_ROOT", os.getcwd()))
    _, syntax_problems = read_user_files(root)
    if syntax_problems:
        raise ConfigError(syntax_problems)
    # Defaults fill only keys no other source set: loaded as a settings file, dynaconf would
    # append a user's list to the default list instead of replacing it.
    config = Dynaconf(
        envvar_prefix=ENV_PREFIX,
        settings_files=[str(root / name) for name in USER_FILES],
        root_path=str(root),
        merge_enabled=True,
        load_dotenv=False,
        environments=False,
        validators=[Validator(key, default=value) for key, value in default_values().items()],
    )
    config.validators.validate()
    config.set("ROOT", str(root))
    if purpose is not None:
        problems = validate_config(config, purpose=purpose)
        if problems:
            raise ConfigError(problems)
    return config


def default_values() -> dict[str, Any]:
    """Every ``section.key`` of the packaged defaults with its value."""
    with DEFAULTS_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    return {f"{section}.{key}": value for section, table in data.items() for key, value in table.items()}


def override(config: Any, dotted: str, value: Any) -> None:
    """Set ``section.key`` to exactly ``value``. dynaconf's own ``set`` appends a list to the
    list already there, even with ``merge=False`` on a dotted key, so the section is replaced
    with a copy holding the new value."""
    section, _, key = dotted.partition(".")
    if not key:
        config.set(section, value, merge=False)
        return
    table = dict(config.get(section) or {})
    table[key] = value
    config.set(section, table, merge=False)


def resolve_path(config: Any, value: str | Path) -> Path:
    """A path from the settings, relative to the project root unless absolute."""
    path = Path(value)
    return path if path.is_absolute() else Path(config.ROOT) / path


# --- named validators ---------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One named validator: ``test`` returns a problem text, or None when the value is fine."""

    name: str
    test: Callable[[Any], str | None]
    purposes: tuple[str, ...] = ("run", "offline")


def _get(config: Any, dotted: str) -> Any:
    return config.get(dotted)


def _token_present(config: Any) -> str | None:
    token = _get(config, "discord.token")
    if not token or not str(token).strip():
        return (
            "discord.token is missing: the bot cannot log in to Discord. Put it in .secrets.toml "
            "([discord] token = \"...\") or set DISCOMFY_DISCORD__TOKEN. Get one at "
            "https://discord.com/developers/applications (Bot > Reset Token)."
        )
    return None


def url_problem(label: str, value: Any, schemes: tuple[str, ...]) -> str | None:
    """Why ``value`` is not a usable URL with one of ``schemes`` (suggesting the fixed URL), or None."""
    parsed = urlparse(str(value or ""))
    if parsed.scheme in schemes and parsed.netloc:
        return None
    want = " or ".join(f"{s}://" for s in schemes)
    text = str(value or "").strip()
    if text and "://" not in text:
        fixed = f"{schemes[0]}://{text}"
        return f"{label} {text!r} is not a valid URL: it has no scheme; did you mean {fixed}?"
    return (f"{label} {value!r} is not a valid URL: it must start with {want} and name a host, "
            f"e.g. {schemes[0]}://127.0.0.1:8188.")


def _url_problem(config: Any, key: str, value: Any, schemes: tuple[str, ...]) -> str | None:
    problem = url_problem(f"{key} =", value, schemes)
    if problem:
        where = fix_where(config, key)
        return f"{problem} {where[0].upper()}{where[1:]}."
    return None


def _comfyui_urls(config: Any) -> str | None:
    servers = _get(config, "comfyui.servers") or []
    problems = []
    if not servers:
        problem = _url_problem(config, "comfyui.url", _get(config, "comfyui.url"), ("http", "https"))
        if problem:
            problems.append(problem)
    for index, server in enumerate(servers):
        url = server.get("url") if isinstance(server, Mapping) else server
        problem = _url_problem(config, f"comfyui.servers[{index}]", url, ("http", "https"))
        if problem:
            problems.append(problem)
    return "\n    ".join(problems) or None


def _positive(key: str) -> Callable[[Any], str | None]:
    def test(config: Any) -> str | None:
        value = _get(config, key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            return f"{key} = {value!r} must be a number greater than 0; {fix_where(config, key)}."
        return None

    return test


def _id_list(key: str) -> Callable[[Any], str | None]:
    def test(config: Any) -> str | None:
        value = _get(config, key)
        if not isinstance(value, list) or not all(
            isinstance(v, int) or (isinstance(v, str) and v.isdigit()) for v in value
        ):
            return (f"{key} = {value!r} must be a list of Discord ids (numbers), e.g. [123456789012345678]; "
                    f"{fix_where(config, key)}.")
        return None

    return test


def _name_list(key: str) -> Callable[[Any], str | None]:
    def test(config: Any) -> str | None:
        value = _get(config, key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{key} = {value!r} must be a list of names, e.g. [\"generate\"]; {fix_where(config, key)}."
        return None

    return test


def _scheduling(config: Any) -> str | None:
    value = _get(config, "comfyui.scheduling")
    if value not in POLICIES:
        return (f"comfyui.scheduling = {value!r} must be one of {', '.join(repr(p) for p in POLICIES)}; "
                f"{fix_where(config, 'comfyui.scheduling')}.")
    factor = _get(config, "comfyui.aging_factor")
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor < 1:
        return (f"comfyui.aging_factor = {factor!r} must be a number of at least 1 (1 = strict round-robin "
                f"waits); {fix_where(config, 'comfyui.aging_factor')}.")
    if not isinstance(_get(config, "comfyui.pipelining"), bool):
        return (f"comfyui.pipelining = {_get(config, 'comfyui.pipelining')!r} must be true or false; "
                f"{fix_where(config, 'comfyui.pipelining')}.")
    return None


def _shards(config: Any) -> str | None:
    count, ids = _get(config, "discord.shard_count"), _get(config, "discord.shard_ids")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return (f"discord.shard_count = {count!r} must be a whole number, 0 for one unsharded connection; "
                f"{fix_where(config, 'discord.shard_count')}.")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        return (f"discord.shard_ids = {ids!r} must be a list of shard numbers, e.g. [0, 1]; "
                f"{fix_where(config, 'discord.shard_ids')}.")
    if ids and not count:
        return (f"discord.shard_ids = {ids!r} needs discord.shard_count, the number of shards across all "
                f"processes (e.g. shard_count = {max(ids) + 1}); {fix_where(config, 'discord.shard_count')}.")
    outside = [i for i in ids if not 0 <= i < count]
    if outside:
        return (f"discord.shard_ids = {ids!r} names shard {outside[0]}, but discord.shard_count = {count} "
                f"numbers shards 0 to {count - 1}; {fix_where(config, 'discord.shard_ids')}.")
    if len(set(ids)) != len(ids):
        return f"discord.shard_ids = {ids!r} names a shard twice; {fix_where(config, 'discord.shard_ids')}."
    return None


def _log_level(config: Any) -> str | None:
    level = str(_get(config, "logging.level") or "").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        return f"logging.level = {level!r} must be one of DEBUG, INFO, WARNING, ERROR; {fix_where(config, 'logging.level')}."
    return None


CHECKS: tuple[Check, ...] = (
    Check("discord-token", _token_present, purposes=("run",)),
    Check("discord-api-base", lambda c: _url_problem(c, "discord.api_base", _get(c, "discord.api_base"), ("http", "https"))
          or plain_url_problem("discord.api_base", _get(c, "discord.api_base"))),
    Check("discord-gateway", lambda c: _url_problem(c, "discord.gateway_url", _get(c, "discord.gateway_url"), ("ws", "wss"))
          or plain_url_problem("discord.gateway_url", _get(c, "discord.gateway_url"))),
    Check("discord-shards", _shards),
    Check("comfyui-url", _comfyui_urls),
    Check("comfyui-timeout", _positive("comfyui.request_timeout")),
    Check("comfyui-deadline", _positive("comfyui.job_deadline")),
    Check("comfyui-scheduling", _scheduling),
    Check("comfyui-aging-floor", _positive("comfyui.aging_floor")),
    Check("comfyui-server-lost", _positive("comfyui.server_lost_after")),
    Check("limits-window", _positive("limits.window_seconds")),
    Check("limits-per-user", _positive("limits.per_user")),
    Check("limits-global", _positive("limits.global_limit")),
    Check("limits-queue", _positive("limits.max_queued_per_user")),
    Check("limits-image-size", _positive("limits.max_image_mb")),
    Check("limits-image-pixels", _positive("limits.max_image_pixels")),
    Check("progress-interval", _positive("progress.edit_interval")),
    Check("access-guilds", _id_list("discord.allowed_guilds")),
    Check("access-channels", _id_list("discord.allowed_channels")),
    Check("access-roles", _id_list("discord.allowed_roles")),
    Check("access-owners", _id_list("discord.owner_ids")),
    Check("plugins-enabled", _name_list("plugins.enabled")),
    Check("plugins-disabled", _name_list("plugins.disabled")),
    Check("logging-level", _log_level),
)


def validate_config(config: Any, *, purpose: str = "run") -> list[str]:
    """Run every named validator for ``purpose``; return all problems (empty when fine)."""
    problems: list[str] = []
    for check in CHECKS:
        if purpose in check.purposes:
            problem = check.test(config)
            if problem:
                problems.append(f"[{check.name}] {problem}")
    return problems
