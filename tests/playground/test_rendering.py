"""How the page draws what today's plugins do not send yet (video, select menus, markdown), in
Chromium: a plugin author sees their messages as Discord would show them."""

from __future__ import annotations

RENDER = """async (msg) => {
  const { renderMessage } = await import('/static/render.js');
  const clicks = [];
  const users = new Map([['42', { id: '42', name: 'alice' }]]);
  const node = renderMessage(msg, users, { click: (m, id, values) => clicks.push([id, values]), dismiss: () => {} });
  document.getElementById('messages').append(node);
  window.renderedClicks = clicks;
  return node.dataset.messageId;
}"""


def message(**fields):
    return {"id": "9001", "channel_id": "1", "author": {"id": "7", "name": "DisComfy", "bot": True},
            "content": "", "embeds": [], "attachments": [], "components": [], "ephemeral": False,
            "visible_to": None, "loading": False, "edited": False, "deleted": False,
            "created_at": 1_700_000_000, "interaction": None, **fields}


def test_video_attachments_play_and_select_menus_send_the_picked_values(open_page):
    page = open_page()
    page.evaluate(RENDER, message(
        content="**done** for <@42>: `seed 7`",
        attachments=[{"id": "1", "filename": "clip.mp4", "content_type": "video/mp4", "size": 2048, "url": "/cdn/1/clip.mp4"},
                     {"id": "2", "filename": "notes.txt", "content_type": "text/plain", "size": 10, "url": "/cdn/2/notes.txt"}],
        components=[{"type": 1, "components": [{"type": 3, "custom_id": "pick-style", "placeholder": "Choose a style",
                                                "options": [{"label": "Watercolour", "value": "wc"},
                                                            {"label": "Ink", "value": "ink"}]}]}]))
    shown = page.locator('[data-message-id="9001"]')
    assert shown.locator("video").get_attribute("src") == "/cdn/1/clip.mp4"
    assert shown.locator(".attachments .file a").inner_text() == "notes.txt"
    assert shown.locator(".content strong").inner_text() == "done"
    assert shown.locator(".content .mention").inner_text() == "@alice"
    assert shown.locator(".content code").inner_text() == "seed 7"
    shown.locator('select[data-custom-id="pick-style"]').select_option("ink")
    assert page.evaluate("window.renderedClicks") == [["pick-style", ["ink"]]]


def test_text_from_the_bot_is_never_run_as_html(open_page):
    page = open_page()
    page.evaluate(RENDER, message(content='<img src=x onerror="window.pwned=1"> **bold**',
                                  embeds=[{"title": "<script>window.pwned=2</script>", "description": "[x](javascript:alert(1))"}]))
    shown = page.locator('[data-message-id="9001"]')
    assert "<img src=x" in shown.locator(".content").inner_text()
    assert shown.locator(".embed a").count() == 0, "only http(s) links become links"
    assert page.evaluate("window.pwned") is None
