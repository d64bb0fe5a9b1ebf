"""What a reverse proxy in front of ComfyUI really answers, and what the operator is told.

The fake ComfyUI speaks ComfyUI; it never plays nginx. Here a small aiohttp server on loopback
plays the proxy and answers what proxies really answer: an HTML 502 page, a JSON body cut off
mid-way, a redirect to a login page. Each becomes one ``ComfyUIError`` whose detail names what
happened, never a raw aiohttp exception and never 300 bytes of markup.

(``aioresponses`` was declared for this and never used; its latest release, 0.7.9, cannot build
responses for aiohttp 3.14, and a real socket is closer to the truth anyway, so it was dropped.)
"""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from discomfy.core.comfyui.client import ComfyUIClient
from discomfy.exceptions import ComfyUIError

NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
             b"</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n")


class Proxy:
    """A loopback server answering each path with a canned (status, body, headers)."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.seen: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request.path_qs)
        status, body, headers = self.answers.get(request.path, (404, b"", {}))
        return web.Response(status=status, body=body, headers=headers)


@pytest.fixture
async def proxy():
    fake = Proxy()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield fake
    await runner.cleanup()


@pytest.fixture
async def client(proxy):
    async with ComfyUIClient(proxy.base, request_timeout=30.0) as comfy:  # loopback; only a hang waits this long
        yield comfy


async def test_an_html_502_page_is_named_by_its_title_not_quoted(client, proxy):
    proxy.answers["/prompt"] = (502, NGINX_502, {"Content-Type": "text/html"})
    with pytest.raises(ComfyUIError) as caught:
        await client.queue_prompt({"1": {"class_type": "EmptyImage", "inputs": {}}})
    error = caught.value
    assert error.status == 502
    assert "HTML page titled '502 Bad Gateway'" in error.detail
    assert "proxy" in error.detail and "<html>" not in error.detail
    assert error.detail.startswith(f"ComfyUI at {proxy.base}: could not queue the prompt")


async def test_a_json_body_cut_off_midway_says_so(client, proxy):
    proxy.answers["/history/p-1"] = (200, b'{"p-1": {"outputs": {"9": {"images": [{"filena',
                                     {"Content-Type": "application/json"})
    with pytest.raises(ComfyUIError) as caught:
        await client.get_history("p-1")
    assert re.search(r"answer was cut off: \d+ bytes of JSON that do not parse \(HTTP 200\)", caught.value.detail)


async def test_a_redirect_to_a_login_page_is_not_followed_and_names_its_target(client, proxy):
    proxy.answers["/object_info"] = (302, b"", {"Location": "/login?next=/object_info"})
    proxy.answers["/login"] = (200, b"<html><title>Sign in</title></html>", {"Content-Type": "text/html"})
    with pytest.raises(ComfyUIError) as caught:
        await client.get_object_info()
    assert [p for p in proxy.seen if not p.startswith("/ws")] == ["/object_info"], "the redirect was followed"
    assert caught.value.status == 302
    assert "redirect to /login?next=/object_info" in caught.value.detail
    assert "comfyui.url" in caught.value.detail


async def test_a_login_page_served_with_200_is_not_mistaken_for_an_empty_answer(client, proxy):
    proxy.answers["/queue"] = (200, b"<!DOCTYPE html><html><head><title>Authelia</title></head></html>",
                               {"Content-Type": "text/html"})
    with pytest.raises(ComfyUIError) as caught:
        await client.get_queue()
    assert "HTML page titled 'Authelia'" in caught.value.detail
    assert "not ComfyUI's API (check comfyui.url)" in caught.value.detail


async def test_users_see_the_plain_message_not_the_proxy_detail(client, proxy):
    proxy.answers["/prompt"] = (502, NGINX_502, {"Content-Type": "text/html"})
    with pytest.raises(ComfyUIError) as caught:
        await client.queue_prompt({"1": {"class_type": "EmptyImage", "inputs": {}}})
    assert caught.value.user_message == "The image server is not reachable right now. Please try again later."
