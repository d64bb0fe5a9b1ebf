"""``discomfy play`` in a child process, and the system Chromium to look at it (tests, benchmarks).

The browser is Debian's ``chromium`` (``/usr/bin/chromium``) driven by Playwright for Python,
given the system browser through ``executable_path`` (its own browser download is never used).
Playwright rather than Selenium: its locators wait for the page's state (no sleeps or explicit
waits in tests), it fills ``<input type=file>`` pickers, opens several tabs in one context, and
takes the README's screenshot. The flags keep Chromium off the network (CI has none beyond
package registries) and let it run as root in a container.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("DISCOMFY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
URL_LINE = re.compile(r"DisComfy playground: (?P<url>http://\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        return (f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium chromium-driver` "
                "(scripts/test.sh does this when run as root), or point DISCOMFY_CHROMIUM at one")
    return None


def launch_chromium(playwright: Any) -> Any:
    """A headless system Chromium from a started ``sync_playwright()`` (or async) instance."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


class PlaygroundProcess:
    """``discomfy --root ROOT play --port PORT [--dev]`` (or ``command``) with its output in ``log_path``."""

    def __init__(self, root: Path, *, port: int | None = None, dev: bool = False, command: list[str] | None = None,
                 env: dict[str, str] | None = None, log_path: Path | None = None) -> None:
        self.root = Path(root)
        self.port = port or free_port()
        self.command = command or [sys.executable, "-m", "discomfy", "--root", str(self.root), "play",
                                   "--port", str(self.port), *(["--dev"] if dev else [])]
        # settings come from ROOT's files (that is what --root is for), not from this shell's DISCOMFY_*
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("DISCOMFY_")}
        self.env = {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log_path = log_path or self.root / "play.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self.started_at = 0.0
        self.url_at = 0.0
        self.lines: list[tuple[float, str]] = []  # (time.monotonic() it was read, line) of its output
        self._new_line = threading.Condition()
        self._ended = False

    def start(self, timeout: float = 60.0) -> str:
        """Start it and return the URL it prints; fail with its output if it does not."""
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command, cwd=self.root, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self._announced = threading.Event()
        threading.Thread(target=self._copy_output, daemon=True, name="playground-output").start()
        self._announced.wait(timeout)
        if self.url is None:
            self.stop()
            raise AssertionError(f"`{' '.join(self.command)}` printed no playground URL within {timeout} s; "
                                 f"its output:\n{self.output()[-4000:]}")
        return self.url

    def _copy_output(self) -> None:
        """Keep the child's output in the log file (so its pipe never fills) and note the URL line."""
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.log_path, "wb") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                text = line.decode(errors="replace")
                with self._new_line:
                    self.lines.append((time.monotonic(), text))
                    self._new_line.notify_all()
                match = URL_LINE.search(text)
                if match and self.url is None:
                    self.url, self.url_at = match["url"], time.monotonic()
                    self._announced.set()
        with self._new_line:
            self._ended = True
            self._new_line.notify_all()
        self._announced.set()  # it ended without announcing: start() reports its output

    def wait_for_line(self, fragment: str, *, after: int = 0, timeout: float = 30.0) -> str:
        """The first output line from index ``after`` on containing ``fragment`` (waits for it)."""
        def found() -> str | None:
            return next((text for _, text in self.lines[after:] if fragment in text), None)

        with self._new_line:
            if not self._new_line.wait_for(lambda: found() is not None or self._ended, timeout):
                raise AssertionError(f"no output line with {fragment!r} within {timeout} s; "
                                     f"the output ends with:\n{self.output()[-3000:]}")
            line = found()
        if line is None:
            raise AssertionError(f"it exited without printing {fragment!r}; its output:\n{self.output()[-3000:]}")
        return line

    def line_time(self, fragment: str) -> float | None:
        """When the first output line containing ``fragment`` was read (time.monotonic)."""
        return next((at for at, text in self.lines if fragment in text), None)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: a shell script's children too
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()
