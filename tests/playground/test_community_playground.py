"""The playground carries what moderation needs, as a person sees it in the browser: an
age-restricted channel the bot knows as such, an admin user with Manage Server, and a composer
that, like Discord's client, offers a command only to users with its default_member_permissions.

Its own playground, with a tiny plugin: /modcheck (Manage Server) and /channelinfo (everyone).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from discomfy.testing.playground import PlaygroundProcess
from tests.conftest import write_plugin
from tests.playground.conftest import write_settings

MODERATION_PLUGIN = '''
    import discord
    from discord import app_commands
    from discord.ext import commands


    class Moderation(commands.Cog, name="moderation-probe"):
        @app_commands.command(name="modcheck", description="Moderators only")
        @app_commands.default_permissions(manage_guild=True)
        async def modcheck(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"moderating as {interaction.user.name}")

        @app_commands.command(name="channelinfo", description="What the bot knows of this channel")
        async def channelinfo(self, interaction: discord.Interaction) -> None:
            channel = interaction.channel
            await interaction.response.send_message(
                f"#{channel.name} age-restricted: {channel.is_nsfw()}; "
                f"{interaction.user.name} manage_guild: {interaction.permissions.manage_guild}")


    async def setup(bot):
        await bot.add_cog(Moderation())
'''


@pytest.fixture(scope="module")
def playground(tmp_path_factory):
    root = tmp_path_factory.mktemp("community-playground")
    write_plugin(root, "moderation_probe", MODERATION_PLUGIN)
    write_settings(root, plugins={"dirs": [str(root / "plugins")]})
    process = PlaygroundProcess(root)
    process.start()
    yield process
    status = process.stop()
    assert status == 0, f"discomfy play exited with {status} on SIGTERM; its output:\n{process.output()[-3000:]}"


def offered(page) -> list[str]:
    """The commands the composer lists after typing ``/``, once it has listed them for this user
    (/channelinfo is offered to everyone, so its entry says the list is drawn)."""
    composer = page.locator("#composer-input")
    composer.fill("")
    composer.click()
    composer.type("/")
    expect(page.locator('#suggestions li.item[data-name="/channelinfo"]')).to_be_visible()
    return page.eval_on_selector_all("#suggestions li.item", "items => items.map(i => i.dataset.name)")


def send(page, text: str) -> None:
    page.locator("#composer-input").fill(text)
    page.click("#send")
    expect(page.locator("#composer-error")).to_be_hidden()


def test_the_age_restricted_channel_is_marked_and_the_bot_sees_it_so(open_page):
    page = open_page()
    nsfw = page.locator('#channels li[data-name="nsfw-art"]')
    expect(nsfw).to_have_attribute("data-nsfw", "1")
    expect(nsfw).to_have_attribute("title", "Age-restricted channel")
    marks = page.eval_on_selector_all("#channels li", "items => items.map(i => getComputedStyle(i, '::after').content)")
    assert marks == ['none', 'none', '"🔞"'], marks  # general, sandbox, nsfw-art
    expect(page.locator("#channel-flag")).to_be_hidden()
    nsfw.click()
    expect(page.locator("#channel-name")).to_have_text("nsfw-art")
    expect(page.locator("#channel-flag")).to_be_visible()
    send(page, "/channelinfo")
    expect(page.locator("#messages .message", has_text="#nsfw-art age-restricted: True")).to_have_count(1)

    page.click('#channels li[data-name="general"]')
    expect(page.locator("#channel-flag")).to_be_hidden()
    send(page, "/channelinfo")
    expect(page.locator("#messages .message", has_text="#general age-restricted: False")).not_to_have_count(0)
    assert not page.js_errors


def test_a_manage_server_command_is_hidden_from_alice_and_offered_to_admin(open_page):
    page = open_page()
    options = page.locator("#user-switcher option")
    expect(options).to_have_text(["owner (bot owner)", "alice", "bob", "admin"])
    expect(page.locator('#user-switcher option', has_text="admin")).to_have_attribute("title", "roles: Admin")

    page.select_option("#user-switcher", label="alice")
    assert "/modcheck" not in offered(page)

    page.select_option("#user-switcher", label="admin")
    assert "/modcheck" in offered(page)
    page.locator('#suggestions li.item[data-name="/modcheck"]').click()
    expect(page.locator("#composer-input")).to_have_value("/modcheck ")
    page.click("#send")
    expect(page.locator("#messages .message", has_text="moderating as admin")).to_have_count(1)
    send(page, "/channelinfo")
    expect(page.locator("#messages .message", has_text="admin manage_guild: True")).to_have_count(1)

    page.select_option("#user-switcher", label="alice")
    assert "/modcheck" not in offered(page)  # hidden again for alice
    page.locator("#composer-input").fill("/modcheck")
    page.click("#send")
    expect(page.locator("#composer-error")).to_contain_text("/modcheck is not a command")
    assert not page.js_errors
