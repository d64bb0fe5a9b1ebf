"""How long `discomfy play` takes to be usable, and how long a user waits for the first progress.

Figures (issue 13):
- start -> URL printed, and start -> page ready in Chromium (the WebSocket delivered the state and
  the commands), for ``--starts`` separate starts of ``discomfy play`` (a child process each, the
  shipped settings but for a ComfyUI address where nothing answers, so the built-in fake runs);
- click on Send -> the job's first progress message on the page, and -> its first "Step" and
  -> its result, for ``--jobs`` /generate runs, timed inside the page (``performance.now()`` at
  the click, a MutationObserver at the message), so the browser driver adds nothing;
- with ``--fresh-clone``: ``bash scripts/bot.sh`` with no token in a fresh clone of this
  repository (a new venv, packages from the registry): install time, then install -> URL printed.

    .venv/bin/python bench/playground.py [--starts 3] [--jobs 5] [--fresh-clone]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from discomfy.testing.playground import PlaygroundProcess, free_port, launch_chromium  # noqa: E402

NO_TOKEN_LINE = "No Discord token, so this starts the playground"
STAMP_JOBS = """() => {
  window.bench = { clicks: [], firsts: [], steps: {}, results: {} };
  document.getElementById('send').addEventListener('click', () => window.bench.clicks.push(performance.now()), true);
  const known = new Set([...document.querySelectorAll('#messages .message')].map(e => e.dataset.messageId));
  new MutationObserver((mutations) => {
    const now = performance.now();
    for (const m of mutations) for (const node of m.addedNodes) {
      const id = node.dataset && node.dataset.messageId;
      if (!id) continue;
      if (!known.has(id) && node.querySelector('button[data-custom-id^="discomfy:cancel:"]')) {
        known.add(id); window.bench.firsts.push([id, now]);
      }
      if (/Step \d+\/\d+/.test(node.innerText) && !(id in window.bench.steps)) window.bench.steps[id] = now;
      if (node.querySelector('button[data-custom-id^="discomfy:reroll:"]') && !(id in window.bench.results)) window.bench.results[id] = now;
    }
  }).observe(document.getElementById('messages'), { childList: true });
}"""


def project(root: Path) -> Path:
    closed = free_port()
    (root / "settings.toml").write_text(
        f'[comfyui]\nurl = "http://127.0.0.1:{closed}"\n'
        f'[plugins]\ndirs = ["{REPO_ROOT / "plugins"}"]\nworkflow_dirs = ["{REPO_ROOT / "workflows"}"]\n')
    return root


def summary(values: list[float]) -> str:
    return (f"median {statistics.median(values):7.0f} ms   min {min(values):7.0f}   max {max(values):7.0f}"
            f"   (n={len(values)})")


def bench_starts(browser, starts: int, root: Path) -> None:
    to_url, to_ready = [], []
    for _ in range(starts):
        process = PlaygroundProcess(root)
        try:
            url = process.start()
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector('body[data-ready="1"]')
            ready = time.monotonic()
            to_url.append((process.url_at - process.started_at) * 1000)
            to_ready.append((ready - process.started_at) * 1000)
            page.close()
        finally:
            process.stop()
    print("discomfy play -> URL printed        ", summary(to_url))
    print("discomfy play -> page ready         ", summary(to_ready))


def bench_jobs(browser, jobs: int, root: Path) -> None:
    process = PlaygroundProcess(root)
    try:
        url = process.start()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.wait_for_selector('body[data-ready="1"]')
        page.evaluate(STAMP_JOBS)
        for n in range(jobs + 1):  # the first one warms the bot and the fake, and is not counted
            page.locator("#composer-input").fill(f"/generate prompt:bench fox {n}")
            page.click("#send")
            page.wait_for_function(f"window.bench.firsts.length > {n} && "
                                   f"window.bench.firsts[{n}][0] in window.bench.results", timeout=120_000)
        stamps = page.evaluate("window.bench")
    finally:
        process.stop()
    rows = [(click, first_at, stamps["steps"].get(mid), stamps["results"][mid])
            for click, (mid, first_at) in zip(stamps["clicks"][1:], stamps["firsts"][1:])]
    print("click Send -> first progress message", summary([first - click for click, first, _, _ in rows]))
    steps = [step - click for click, _, step, _ in rows if step is not None]
    if steps:  # none when a job ends within one progress.edit_interval
        print("click Send -> first 'Step n/m' shown", summary(steps))
    print("click Send -> result with buttons   ", summary([result - click for click, _, _, result in rows]),
          " (placeholder jobs: 20 steps x 0.12 s on the fake)")


def bench_fresh_clone(browser, workdir: Path) -> None:
    clone = workdir / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
    port = free_port()
    env = {"DISCOMFY_DISCORD__TOKEN": "", "DISCOMFY_COMFYUI__URL": f"http://127.0.0.1:{free_port()}"}
    process = PlaygroundProcess(clone, port=port, env=env, log_path=workdir / "bot-sh.log",
                                command=["bash", str(clone / "scripts" / "bot.sh"), "--port", str(port)])
    try:
        url = process.start(timeout=1200)
        installed = process.line_time(NO_TOKEN_LINE)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector('body[data-ready="1"]')
        ready = time.monotonic()
    finally:
        process.stop()
    print(f"fresh clone: bash scripts/bot.sh install      {installed - process.started_at:7.1f} s")
    print(f"fresh clone: install finished -> URL printed  {process.url_at - installed:7.1f} s (goal: < 60 s)")
    print(f"fresh clone: install finished -> page ready   {ready - installed:7.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=3, help="separate starts of discomfy play to time")
    parser.add_argument("--jobs", type=int, default=5, help="/generate runs to time from the Send click")
    parser.add_argument("--fresh-clone", action="store_true", help="also time bash scripts/bot.sh in a fresh clone")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="discomfy-bench-play-") as tmp, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        root = project(Path(tmp))
        print(json.dumps({"starts": args.starts, "jobs": args.jobs, "python": sys.version.split()[0]}))
        bench_starts(browser, args.starts, root)
        bench_jobs(browser, args.jobs, root)
        if args.fresh_clone:
            bench_fresh_clone(browser, Path(tmp))
        browser.close()


if __name__ == "__main__":
    main()
