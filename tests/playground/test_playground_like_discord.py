"""The playground behaves like Discord where a newcomer noticed it did not (issue 20, points 4, 5,
6 and 12), checked in headless Chromium through what the page shows.

The newest message stays in view (after its image loads, after a reload) unless the reader
scrolled up; right-click or "…" on a message lists the bot's message commands (Apps → Upscale)
and runs one; an attachment option typed as ``image:`` takes the file chosen for it; a batch of
four is a 2 × 2 mosaic; the notice banner sits outside the messages, dims under a modal's
backdrop; ``/favicon.ico`` answers.
"""

from __future__ import annotations

import io

from PIL import Image, ImageStat
from playwright.sync_api import expect

from tests.playground.conftest import png_file
from tests.playground.test_browser_acceptance import (
    message_ids,
    new_message,
    send_command,
    wait_images_loaded,
    wait_result,
)

#: The last message's buttons are inside the list's visible box, and the list is at its bottom.
NEWEST_IN_VIEW = """() => {
  const list = document.getElementById('messages');
  const last = list.lastElementChild;
  if (!last) return false;
  const images = [...list.querySelectorAll('img')];
  if (!images.every((img) => img.complete)) return false;
  const box = list.getBoundingClientRect(), lastBox = last.getBoundingClientRect();
  return list.scrollHeight - list.scrollTop - list.clientHeight < 2 && lastBox.bottom <= box.bottom + 1;
}"""
SCROLL_TOP = "document.getElementById('messages').scrollTop"
SETTLE = 10_000  # ms: the page fixes its scroll within a frame of an image loading; this is only the failure's bound


def wait_image(message) -> None:
    image = message.locator(".attachments img, .embed img.e-image").first
    expect(image).to_be_visible(timeout=45_000)
    wait_images_loaded(message)


def test_the_newest_result_stays_in_view_after_its_image_loads_and_after_a_reload_but_not_when_scrolled_up(open_page):
    page = open_page()
    for n in range(8):  # enough history that the list scrolls
        send_command(page, f"filler line {n} so that the channel has history to scroll")
    before = message_ids(page)
    send_command(page, "/generate prompt:keep the newest in view batch:4")
    job = new_message(page, before, "keep the newest in view")
    wait_result(job)
    page.wait_for_function(NEWEST_IN_VIEW, timeout=SETTLE)  # the images loaded after the message was drawn

    page.reload()
    page.wait_for_selector('body[data-ready="1"]')
    page.wait_for_function(NEWEST_IN_VIEW, timeout=SETTLE)  # and again once a reload's images load

    bottom = page.evaluate(SCROLL_TOP)
    page.hover("#messages")
    page.mouse.wheel(0, -400)  # the reader scrolls up to read
    page.wait_for_function(f"{SCROLL_TOP} < {bottom} - 100")
    reading_at = page.evaluate(SCROLL_TOP)
    other = open_page()
    other.select_option("#user-switcher", label="bob")
    before = message_ids(page)
    send_command(other, "bob says something while the owner reads older messages")
    new_message(page, before, "while the owner reads older messages")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert abs(page.evaluate(SCROLL_TOP) - reading_at) <= 1, "a new message must not pull a reader who scrolled up"
    assert not page.js_errors


def test_right_click_and_the_more_button_list_the_message_commands_and_run_them(open_page, tmp_path):
    page = open_page(channel="sandbox")
    before = message_ids(page)
    send_command(page, "/upscale", {"image": png_file(tmp_path / "small.png", "teal", (48, 32))})
    source = new_message(page, before, "used /upscale")
    wait_image(source)
    commands = page.request.get(f"{page.url.rstrip('/')}/api/message-commands").json()
    assert "Upscale" in [c["name"] for c in commands]  # the README's and /help's "Apps → Upscale"

    source.locator(".content, .embed").first.click(button="right")
    menu = page.locator("#context-menu")
    expect(menu).to_be_visible()
    expect(menu.locator(".menu-item")).to_have_text([c["name"] for c in commands])  # every message command
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()

    source.hover()
    source.locator(".message-tools button.more").click()  # Discord's "…" (More) on the message's toolbar
    expect(menu.locator('.menu-item[data-command="Upscale"]')).to_be_visible()
    before = message_ids(page)
    menu.locator('.menu-item[data-command="Upscale"]').click()
    expect(menu).to_be_hidden()
    upscaled = new_message(page, before, "used Upscale")
    wait_image(upscaled)
    expect(page.locator("#composer-error")).to_be_hidden()
    assert not page.js_errors


def test_an_attachment_option_typed_as_text_takes_the_file_chosen_for_it(open_page, tmp_path):
    page = open_page(channel="sandbox")
    before = message_ids(page)
    page.locator("#composer-input").fill("/upscale image:")
    page.set_input_files('#files input[data-option="image"]', str(png_file(tmp_path / "typed.png", "purple", (40, 40))))
    page.click("#send")
    result = new_message(page, before, "used /upscale")
    expect(page.locator("#composer-error")).to_be_hidden()
    wait_image(result)

    page.locator("#composer-input").fill("/upscale image:")  # typed, but no file chosen: still refused
    page.click("#send")
    expect(page.locator("#composer-error")).to_contain_text("image takes a file")
    assert not page.js_errors


def test_a_batch_of_four_is_a_two_by_two_mosaic(open_page):
    page = open_page(channel="sandbox")
    before = message_ids(page)
    send_command(page, "/generate prompt:four squares in a grid batch:4")
    job = new_message(page, before, "four squares in a grid")
    wait_result(job)
    images = job.locator(".attachments img")
    expect(images).to_have_count(4)
    wait_images_loaded(job, count=4)
    boxes = [images.nth(i).bounding_box() for i in range(4)]
    rows, columns = {round(b["y"]) for b in boxes}, {round(b["x"]) for b in boxes}
    assert len(rows) == 2 and len(columns) == 2, f"expected 2 × 2, got rows {sorted(rows)} columns {sorted(columns)}"


def _brightness(page, box) -> float:
    shot = Image.open(io.BytesIO(page.screenshot(clip=box))).convert("L")
    return ImageStat.Stat(shot).mean[0]


def test_the_banner_sits_outside_the_messages_and_dims_under_a_modal(open_page):
    page = open_page(channel="sandbox")
    banner = page.locator("#banner")
    expect(banner).to_contain_text("fake ComfyUI")
    banner_box, chat_box = banner.bounding_box(), page.locator("main.chat").bounding_box()
    assert banner_box["y"] + banner_box["height"] <= chat_box["y"] + 0.5, \
        "the banner must not lie over (or against) the messages: Discord's notices sit above the whole window"
    before = message_ids(page)
    send_command(page, "/generate prompt:a lighthouse under a banner")
    job = new_message(page, before, "a lighthouse under a banner")
    wait_result(job)
    page.evaluate("document.getElementById('messages').scrollTop = 0")
    first = page.locator("#messages .message").first
    top = first.bounding_box()
    covering = page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.closest('.message')?.dataset.messageId",
                             [top["x"] + 80, top["y"] + 6])
    assert covering == first.get_attribute("data-message-id"), "the top of the first message must be visible"

    lit = _brightness(page, banner_box)
    job.locator('button[data-custom-id^="discomfy:edit:"]', has_text="kontext").click()
    expect(page.locator("dialog#modal")).to_be_visible()
    dimmed = _brightness(page, banner_box)
    assert dimmed < 0.5 * lit, f"the modal's backdrop should dim the banner too ({lit:.0f} -> {dimmed:.0f})"
    page.locator("#modal-cancel").click()
    assert not page.js_errors


def test_the_favicon_is_served_so_the_browser_logs_no_404(open_page):
    failed: list[str] = []
    page = open_page()
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    response = page.request.get(f"{page.url.rstrip('/')}/favicon.ico")
    assert response.ok and response.headers["content-type"].startswith("image/")
    page.reload()
    page.wait_for_selector('body[data-ready="1"]')
    page.wait_for_load_state("networkidle")
    assert not failed, f"requests that failed: {failed}"
