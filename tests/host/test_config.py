"""Config: precedence of the four sources, and validators that explain every problem at once."""

from __future__ import annotations

import pytest

from discomfy.config import ConfigError, get_config, validate_config


def test_defaults_cover_every_section(project):
    config = get_config(project)
    assert config.comfyui.url == "http://127.0.0.1:8188"
    assert config.discord.token == ""
    assert config.limits.max_queued_per_user == 3


def test_precedence_settings_then_secrets_then_environment(project, monkeypatch):
    (project / "settings.toml").write_text('[comfyui]\nurl = "http://from-settings:8188"\n[discord]\ntoken = "settings-token"\n')
    config = get_config(project)
    assert config.comfyui.url == "http://from-settings:8188"
    assert config.discord.token == "settings-token"

    (project / ".secrets.toml").write_text('[discord]\ntoken = "secret-token"\n')
    config = get_config(project)
    assert config.discord.token == "secret-token"
    assert config.comfyui.url == "http://from-settings:8188"  # untouched keys keep the settings value

    monkeypatch.setenv("DISCOMFY_DISCORD__TOKEN", "env-token")
    monkeypatch.setenv("DISCOMFY_COMFYUI__URL", "http://from-env:8188")
    config = get_config(project)
    assert config.discord.token == "env-token"
    assert config.comfyui.url == "http://from-env:8188"
    # a partial override of a section keeps its other defaults
    assert config.comfyui.request_timeout == 30.0


def test_missing_token_says_where_to_put_it(project, monkeypatch):
    monkeypatch.delenv("DISCOMFY_DISCORD__TOKEN", raising=False)
    with pytest.raises(ConfigError) as caught:
        get_config(project, purpose="run")
    message = caught.value.user_message
    assert "discord.token is missing" in message
    assert ".secrets.toml" in message and "DISCOMFY_DISCORD__TOKEN" in message


def test_offline_checks_do_not_need_a_token(project):
    assert validate_config(get_config(project), purpose="offline") == []


def test_malformed_comfyui_url_and_every_other_problem_reported_together(project, monkeypatch):
    monkeypatch.setenv("DISCOMFY_COMFYUI__URL", "localhost:8188")
    monkeypatch.setenv("DISCOMFY_LIMITS__PER_USER", "0")
    with pytest.raises(ConfigError) as caught:
        get_config(project, purpose="run")
    problems = caught.value.problems
    assert len(problems) == 3, problems
    joined = "\n".join(problems)
    assert "comfyui.url = 'localhost:8188' is not a valid URL" in joined
    assert "http://" in joined  # says what a valid one looks like
    assert "limits.per_user = 0 must be a number greater than 0" in joined
    assert "discord.token is missing" in joined


def test_a_list_in_settings_replaces_the_default_list(project):
    (project / "settings.toml").write_text('[limits]\nimage_formats = ["PNG"]\n[plugins]\ndisabled = ["sdxl"]\n')
    config = get_config(project)
    assert config.limits.image_formats == ["PNG"]
    assert config.plugins.disabled == ["sdxl"]
    assert config.limits.max_image_mb == 25.0  # the rest of the section keeps its defaults


def test_override_replaces_a_list_instead_of_appending(project):
    from discomfy.config import override

    config = get_config(project)
    override(config, "limits.image_formats", ["PNG"])
    assert config.limits.image_formats == ["PNG"]
    assert config.limits.max_image_mb == 25.0


@pytest.mark.parametrize("key, url", [("DISCORD__API_BASE", "http://discord.example.net/api/v10"),
                                      ("DISCORD__GATEWAY_URL", "ws://10.0.0.5:8080/gateway")])
def test_unencrypted_discord_endpoints_are_refused_unless_on_this_machine(project, monkeypatch, key, url):
    """The token travels to these URLs: plain http:// or ws:// only to a loopback emulator."""
    monkeypatch.setenv(f"DISCOMFY_{key}", url)
    problems = validate_config(get_config(project), purpose="offline")
    assert len(problems) == 1 and "unencrypted" in problems[0] and "clear text" in problems[0], problems
    assert ("https://" if url.startswith("http") else "wss://") in problems[0]
    from discomfy.bot.discord_endpoints import point_discord_at

    api, gateway = ("http://discord.example.net/api/v10", "wss://gateway.discord.gg/") if key.endswith("BASE") \
        else ("https://discord.com/api/v10", url)
    with pytest.raises(ValueError, match="unencrypted"):
        point_discord_at(api, gateway)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.4.5", "[::1]", "localhost"])
def test_plain_endpoints_on_this_machine_are_fine(project, monkeypatch, host):
    monkeypatch.setenv("DISCOMFY_DISCORD__API_BASE", f"http://{host}:9999/api/v10")
    monkeypatch.setenv("DISCOMFY_DISCORD__GATEWAY_URL", f"ws://{host}:9999/gateway")
    assert validate_config(get_config(project), purpose="offline") == []
