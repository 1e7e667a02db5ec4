"""The real app in a real browser: `streamlit run app.py` driven by Chromium.

Checks that the plots actually draw, that moving the time slider redraws them
without an error box, times one interaction at d = 1000 and saves
docs/screenshot.png. Skipped only when /usr/bin/chromium is missing outside CI.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = ROOT / "docs" / "screenshot.png"

pytestmark = pytest.mark.browser

# The plots have drawn when every plotly div has data traces and an SVG with
# drawn trace groups in it (not just the page frame or an empty chart).
PLOTS_DRAWN = """(n) => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return plots.length >= n && plots.every(p =>
      Array.isArray(p.data) && p.data.length > 0 &&
      p.querySelector('.main-svg') !== null &&
      p.querySelectorAll('.scatterlayer .trace').length > 0);
}"""
PARTICLES_TITLE = """() => {
  const el = document.querySelector('.st-key-fig_particles .gtitle');
  return el ? el.textContent : null;
}"""
RUNNING = '[data-testid="stStatusWidget"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


def _wait_idle(page, timeout_ms: float = 20_000) -> None:
    """Wait until the script run has finished (the 'Running...' widget is gone)."""
    page.wait_for_timeout(150)
    page.wait_for_selector(RUNNING, state="detached", timeout=timeout_ms)


def _assert_no_error_box(page) -> None:
    errors = page.locator(ERRORS)
    assert errors.count() == 0, errors.all_inner_texts()


@pytest.fixture(scope="module")
def server():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; the browser test must run in CI")
        pytest.skip(f"{CHROMIUM} is missing (install the Debian chromium package)")
    port = _free_port()
    log = tempfile.TemporaryFile(mode="w+")  # the server's output, shown if it fails
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py",
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for_server(url, process)
        except (RuntimeError, TimeoutError):
            log.seek(0)
            print(log.read()[-3000:])
            raise
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_browser_slider_redraws_and_screenshot(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server, wait_until="domcontentloaded")
            page.wait_for_function(PLOTS_DRAWN, arg=4, timeout=45_000)
            _wait_idle(page)
            _assert_no_error_box(page)

            # d = 1000 for the timed interaction.
            d_input = page.locator(".st-key-d input")
            d_input.fill("1000")
            d_input.press("Enter")
            page.wait_for_function(
                "() => document.body.innerText.includes('d = 1,000')", timeout=30_000)
            _wait_idle(page)
            page.wait_for_function(PLOTS_DRAWN, arg=4, timeout=30_000)
            _assert_no_error_box(page)

            thumb = page.locator('.st-key-t input[type="range"]')  # the slider's thumb
            thumb.focus()
            before = page.evaluate(PARTICLES_TITLE)
            svg_before = page.locator(".st-key-fig_particles .main-svg").first.inner_html()
            assert before and before.startswith("t = ")

            # One interaction, timed from the key press to the redrawn figure.
            start = time.perf_counter()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(f"() => ({PARTICLES_TITLE})() !== {before!r}",
                                   timeout=20_000)
            elapsed = time.perf_counter() - start
            _wait_idle(page)
            print(f"\nd=1000: slider key press -> particle figure redrawn in {elapsed:.3f} s")

            # Several more steps: the figure keeps changing, no error appears.
            for _ in range(4):
                page.keyboard.press("ArrowRight")
            _wait_idle(page)
            page.wait_for_function(PLOTS_DRAWN, arg=4, timeout=20_000)
            after = page.evaluate(PARTICLES_TITLE)
            svg_after = page.locator(".st-key-fig_particles .main-svg").first.inner_html()
            assert after != before
            assert svg_after != svg_before
            _assert_no_error_box(page)
            assert elapsed < 15.0

            # Full-page screenshot: Streamlit scrolls inside its own container,
            # so grow the viewport to the content's height first.
            height = page.evaluate(
                "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
                ".getBoundingClientRect().bottom + 40")
            page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 4000)})
            page.wait_for_timeout(400)
            page.wait_for_function(PLOTS_DRAWN, arg=4, timeout=20_000)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
