"""The playground in a real browser: what a new user does first, clicked and typed in Chromium.

Every assertion reads the page (what a person sees), never the emulator's state. The README's
screenshot is taken here, in the middle of a reroll, so it always shows the page as it is: into
the test's tmp_path, or over docs/playground.png by scripts/screenshot.sh (``--screenshot``).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.playground.conftest import png_file

TRACK_MESSAGES = """() => {
  window.seen = {};
  new MutationObserver((mutations) => {
    for (const m of mutations) for (const node of m.addedNodes) {
      if (node.dataset && node.dataset.messageId) (window.seen[node.dataset.messageId] ||= []).push(node.innerText);
    }
  }).observe(document.getElementById("messages"), { childList: true });
}"""


def message_ids(page) -> set[str]:
    return set(page.eval_on_selector_all("#messages .message", "els => els.map(e => e.dataset.messageId)"))


def new_message(page, before: set[str], text: str):
    """The first message not in ``before`` containing ``text`` (waits for it)."""
    page.wait_for_function(
        """([before, text]) => [...document.querySelectorAll('#messages .message')]
             .some(e => !before.includes(e.dataset.messageId) && e.innerText.includes(text))""",
        arg=[sorted(before), text])
    found = [loc for loc in page.locator("#messages .message", has_text=text).all()
             if loc.get_attribute("data-message-id") not in before]
    return page.locator(f'[data-message-id="{found[0].get_attribute("data-message-id")}"]')


def button(message, action: str):
    return message.locator(f'button[data-custom-id^="discomfy:{action}:"]')


def send_command(page, text: str, files: dict[str, object] | None = None) -> None:
    page.locator("#composer-input").fill(text)
    for option, path in (files or {}).items():
        page.set_input_files(f'#files input[data-option="{option}"]', str(path))
    page.click("#send")
    expect(page.locator("#composer-error")).to_be_hidden()


def wait_result(message) -> None:
    expect(button(message, "reroll")).to_be_visible(timeout=45_000)
    image = message.locator(".attachments img, .embed img.e-image").first
    expect(image).to_be_visible()
    wait_images_loaded(message)


#: Every image of the message with this id has loaded (at least ``count`` of them). Looked up
#: afresh on each check: the page redraws a message when it is edited, and a handle to the img
#: drawn before the edit can stay incomplete for ever once it is out of the page.
IMAGES_LOADED = """([id, count]) => {
  const images = [...document.querySelectorAll(
    `[data-message-id="${id}"] .attachments img, [data-message-id="${id}"] .embed img.e-image`)];
  return images.length >= count && images.every((img) => img.complete && img.naturalWidth > 0);
}"""


def wait_images_loaded(message, count: int = 1) -> None:
    message.page.wait_for_function(IMAGES_LOADED, arg=[message.get_attribute("data-message-id"), count])


def test_generate_with_a_model_from_the_list_shows_progress_then_the_image_and_rerolls(open_page, readme_screenshot):
    page = open_page()
    page.evaluate(TRACK_MESSAGES)
    composer = page.locator("#composer-input")
    composer.click()
    composer.type("/gen")
    expect(page.locator('#suggestions li.item[data-name="/generate"]')).to_contain_text("Create an image")
    composer.fill("")
    composer.type("/generate prompt:a red fox ")
    options = page.locator("#suggestions")
    expect(options.locator('li.item[data-name="model"]')).to_contain_text("Model to use")
    options.locator('li.item[data-name="model"]').click()
    expect(options.locator("li.item")).to_have_text(["flux", "sdxl"])
    options.locator('li.item[data-name="sdxl"]').click()
    expect(composer).to_have_value("/generate prompt:a red fox model:sdxl ")
    before = message_ids(page)
    page.click("#send")

    job = new_message(page, before, "used /generate")
    expect(button(job, "cancel")).to_be_visible()  # the progress message, with its Cancel button
    expect(job).to_contain_text("Step")
    wait_result(job)
    expect(job.locator(".embed")).to_contain_text("sdxl")
    expect(job.locator(".embed")).to_contain_text("a red fox")
    for label in ("🎲 Reroll", "✏️ Edit with kontext", "ℹ️ Info", "🗑️ Delete"):
        expect(job.locator("button.component", has_text=label)).to_be_visible()
    states = page.evaluate("id => window.seen[id]", job.get_attribute("data-message-id"))
    assert "Queued" in states[0] and any("Step" in s for s in states[1:-1]) and "Reroll" in states[-1], \
        f"the same message should go queued -> steps -> result, live; it went {states}"

    before = message_ids(page)
    button(job, "reroll").click()
    second = new_message(page, before, "Step")  # the reroll's progress, under the first result
    page.screenshot(path=str(readme_screenshot))
    wait_result(second)
    assert second.get_attribute("data-message-id") != job.get_attribute("data-message-id")
    expect(button(job, "reroll")).to_be_visible()  # the first result is still there
    assert not page.js_errors


def test_lora_choices_come_from_the_bot_and_a_missing_option_is_refused(open_page):
    page = open_page()
    composer = page.locator("#composer-input")
    composer.click()
    composer.type("/generate prompt:x lora:style")
    suggestions = page.locator("#suggestions")
    expect(suggestions).to_contain_text("suggested by the bot")
    expect(suggestions.locator("li.item")).to_have_text(["style_a.safetensors", "style_b.safetensors"])
    composer.fill("/generate model:flux")
    page.click("#send")
    expect(page.locator("#composer-error")).to_contain_text("prompt")
    composer.fill("/generate prompt:x steps:many")
    page.click("#send")
    expect(page.locator("#composer-error")).to_contain_text("steps needs a whole number, e.g. steps:20")


def test_editqwen_takes_a_png_from_the_file_picker_and_refuses_a_text_file_privately(open_page, tmp_path):
    page = open_page()
    before = message_ids(page)
    send_command(page, "/editqwen prompt:make the sky green", {"image": png_file(tmp_path / "photo.png")})
    edited = new_message(page, before, "make the sky green")
    wait_result(edited)
    expect(edited.locator(".used")).to_contain_text("/editqwen")

    notes = tmp_path / "notes.txt"
    notes.write_text("just words, no picture")
    before = message_ids(page)
    send_command(page, "/editqwen prompt:anything", {"image": notes})
    refusal = new_message(page, before, "notes.txt")
    expect(refusal).to_contain_text("Only you can see this")
    expect(refusal).to_have_class("message ephemeral")
    assert not page.js_errors


def test_the_edit_button_opens_a_modal_whose_submission_runs_the_job(open_page):
    page = open_page()
    before = message_ids(page)
    send_command(page, "/generate prompt:a lighthouse at dusk")
    job = new_message(page, before, "a lighthouse at dusk")
    wait_result(job)
    job.locator('button[data-custom-id^="discomfy:edit:"]', has_text="kontext").click()
    dialog = page.locator("dialog#modal")
    expect(dialog).to_be_visible()
    field = dialog.locator("input, textarea").first
    expect(dialog.locator("label").first).to_contain_text("What should change?")
    field.fill("add falling snow")
    before = message_ids(page)
    dialog.locator("#modal-submit").click()
    expect(dialog).to_be_hidden()
    edited = new_message(page, before, "add falling snow")
    wait_result(edited)
    assert not page.js_errors


def test_a_second_user_cannot_delete_the_first_users_result(open_page):
    page = open_page()
    page.select_option("#user-switcher", label="alice")
    before = message_ids(page)
    send_command(page, "/generate prompt:a castle made of bread")
    job = new_message(page, before, "a castle made of bread")
    expect(job.locator(".used")).to_contain_text("alice used /generate")
    wait_result(job)

    page.select_option("#user-switcher", label="bob")
    before = message_ids(page)
    button(job, "delete").click()
    refusal = new_message(page, before, "Only you can see this")
    expect(refusal).to_contain_text("@alice")  # it names whose result it is
    expect(job).to_be_visible()

    page.select_option("#user-switcher", label="alice")
    expect(refusal).to_be_hidden()  # bob's private answer is not shown to alice
    button(job, "delete").click()
    expect(job).to_have_count(0)  # deleted, live
    assert not page.js_errors


def test_the_per_user_cap_and_the_fair_queue_as_two_users_see_them(open_page):
    alice, bob = open_page(channel="sandbox"), open_page(channel="sandbox")
    alice.select_option("#user-switcher", label="alice")
    bob.select_option("#user-switcher", label="bob")
    jobs = []
    for n in range(3):
        before = message_ids(alice)
        send_command(alice, f"/generate prompt:queue test alice {n} model:sdxl steps:60")  # 7 s each
        jobs.append(new_message(alice, before, f"queue test alice {n}"))
    before = message_ids(alice)
    send_command(alice, "/generate prompt:queue test alice 3")
    capped = new_message(alice, before, "You already have 3")
    expect(capped).to_contain_text("Only you can see this")
    expect(bob.locator("#messages .message", has_text="You already have 3")).to_have_count(0)

    before = message_ids(bob)
    send_command(bob, "/generate prompt:queue test bob")
    bobs = new_message(bob, before, "queue test bob")
    # bob's turn comes after at most one of alice's waiting jobs (the serving order he is shown);
    # model_affinity may still run her jobs first while her model is loaded, within its aging
    # bound (tests/core/test_scheduling_policy.py), so the order of results is not asserted here
    expect(bobs).to_contain_text(re.compile(r"Position in queue: [12]\b"))
    for job in [*jobs, bobs]:
        wait_result(job)
    assert not alice.js_errors and not bob.js_errors


def test_two_tabs_see_the_same_channel_update_live(open_page):
    watcher = open_page(channel="sandbox")
    actor = open_page(channel="sandbox")
    before = message_ids(watcher)
    send_command(actor, "/generate prompt:two tabs one fox")
    seen = new_message(watcher, before, "two tabs one fox")
    expect(seen).to_contain_text("Step")
    wait_result(seen)
    button(actor.locator(f'[data-message-id="{seen.get_attribute("data-message-id")}"]'), "delete").click()
    expect(seen).to_have_count(0)  # the other tab's delete, live
    general = open_page()
    expect(general.locator("#messages .message", has_text="two tabs one fox")).to_have_count(0)
    assert not watcher.js_errors and not actor.js_errors
