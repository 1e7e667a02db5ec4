"""The real app in a real browser: `streamlit run app.py` driven by Chromium.

Checks that the plots actually draw, that moving the time slider redraws them
without an error box, times one interaction at d = 1000, saves a screenshot,
and that Play steps the time (slider and metrics) on its own, Pause stops it
and Play after Pause continues from where it stopped.

Screenshot: saved to a temporary file, or to the path in the environment
variable ``WS_SCREENSHOT`` (relative to the repository root) when it is set,
e.g. to refresh the README's picture::

    WS_SCREENSHOT=docs/screenshot.png python -m pytest tests/test_app_browser.py -s

The browser: Playwright's own Chromium if it is installed
(``python -m playwright install chromium``), else Debian's ``/usr/bin/chromium``.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Environment variable naming where to save the screenshot (default: a temporary file).
SCREENSHOT_ENV = "WS_SCREENSHOT"

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
TIME_SHOWN = """() => {
  const m = [...document.querySelectorAll('[data-testid="stMetric"]')].find(e =>
      e.querySelector('[data-testid="stMetricLabel"]').innerText.trim() === 'time t');
  return m ? parseFloat(m.querySelector('[data-testid="stMetricValue"]').innerText) : null;
}"""
# The slider's value, as its input holds it and as its thumb shows it (null if they differ).
SLIDER_VALUE = """() => {
  const input = document.querySelector('.st-key-t input[type="range"]');
  const thumb = document.querySelector('.st-key-t [data-testid="stSliderThumbValue"]');
  if (!input || !thumb) return null;
  const value = parseFloat(input.value);
  return Math.abs(parseFloat(thumb.innerText) - value) <= 1e-3 * Math.abs(value) ? value : null;
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


def _screenshot_path(tmp_path: Path) -> Path:
    """Where the screenshot goes: $WS_SCREENSHOT (from the repository root) or tmp_path."""
    chosen = os.environ.get(SCREENSHOT_ENV)
    if not chosen:
        return tmp_path / "screenshot.png"
    path = Path(chosen)
    return path if path.is_absolute() else ROOT / path


def _chromium_executable() -> str:
    """The Chromium to launch: Playwright's own if it is installed, else Debian's.

    Fails, naming both ways to get one, when neither is there.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        bundled = Path(p.chromium.executable_path)
    if bundled.exists():
        return str(bundled)
    if DEBIAN_CHROMIUM.exists():
        return str(DEBIAN_CHROMIUM)
    pytest.fail(
        "No Chromium for the browser test. Install Playwright's own "
        "(`.venv/bin/python -m playwright install chromium`, needs to download it) "
        f"or Debian's (`apt-get install chromium`, which provides {DEBIAN_CHROMIUM})."
    )


@pytest.fixture(scope="module")
def chromium() -> str:
    return _chromium_executable()


@pytest.fixture(scope="module")
def server(chromium):
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


@pytest.fixture
def page(server, chromium):
    """A fresh Chromium page on the app, its first figures drawn and the app idle."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server, wait_until="domcontentloaded")
            page.wait_for_function(PLOTS_DRAWN, arg=4, timeout=45_000)
            _wait_idle(page)
            yield page
        finally:
            browser.close()


def test_browser_slider_redraws_and_screenshot(page, tmp_path):
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
    screenshot = _screenshot_path(tmp_path)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


def test_browser_oscar_draws_the_wall(page):
    """Selecting OSCAR replaces the Watch tab's figures by the penalty's, wall included."""
    wall_drawn = """() => {
      const plot = document.querySelector('.st-key-fig_penalty_spacetime .js-plotly-plot');
      return plot !== null && Array.isArray(plot.data) &&
          plot.data.some(t => t.name === 'wall') &&
          plot.querySelectorAll('.scatterlayer .trace').length >= 2;
    }"""
    page.locator(".st-key-penalty input").click()  # opens the list of penalties
    page.get_by_role("option", name="OSCAR", exact=True).click()
    page.wait_for_function(wall_drawn, timeout=30_000)
    _wait_idle(page)
    page.wait_for_function(PLOTS_DRAWN, arg=2, timeout=20_000)
    title = page.locator(".st-key-fig_penalty_particles .gtitle").first.text_content()
    assert title.startswith("OSCAR, t = ") and "on the wall" in title
    _assert_no_error_box(page)


def _shown(page) -> tuple[float, float]:
    """(the "time t" metric, the slider's value)."""
    return page.evaluate(TIME_SHOWN), page.evaluate(SLIDER_VALUE)


def _wait_agree(page, timeout_ms: float = 10_000) -> float:
    """Wait until the slider shows the time the metrics show (elements redraw one by one)."""
    page.wait_for_function(
        f"() => {{ const t = ({TIME_SHOWN})(), s = ({SLIDER_VALUE})();"
        " return t !== null && s !== null && Math.abs(t - s) <= 1e-9 * Math.max(1, t); }",
        timeout=timeout_ms)
    return _shown(page)[0]


def _wait_stable(page, timeout_s: float = 15.0) -> float:
    """The agreed time once it has not changed for one second."""
    deadline = time.monotonic() + timeout_s
    value = _wait_agree(page)
    while time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        again = _wait_agree(page)
        if again == value:
            return value
        value = again
    raise AssertionError(f"the time kept moving after Pause (last {value})")


def _pause(page, play) -> float:
    """Click Pause until the time stands still; return it.

    A timer tick already on its way when Pause is clicked may still land, and
    a click that arrives while the fragment re-renders can be lost (Streamlit's
    fragment timer races the click; seen about once in three runs on a loaded
    2-core machine): like a user, click again while the button still says Pause.
    """
    label = "() => document.querySelector('.st-key-play button').innerText"
    for _ in range(3):
        if "Pause" in page.evaluate(label):
            play.click()
        page.wait_for_function(f"() => ({label})().includes('Play')", timeout=20_000)
        _wait_idle(page)
        try:
            return _wait_stable(page, timeout_s=6.0)
        except AssertionError:
            continue
    raise AssertionError("Pause did not stop the time after three clicks")


def test_browser_play_pause_play_continues(page):
    """Play moves slider and metrics; Pause holds; Play again continues, not from 0."""
    start, slider = _shown(page)
    assert start == slider and start > 0
    end = float(page.locator('.st-key-t input[type="range"]').get_attribute("max"))
    step = end / 40  # demo.timeline.PLAY_STEPS

    play = page.locator(".st-key-play").get_by_role(
        "button", name=re.compile("Play|Pause")).first
    started = time.perf_counter()
    play.click()
    page.wait_for_function(f"() => ({TIME_SHOWN})() >= {start + 3 * step - 1e-9}",
                           timeout=30_000)
    seconds_per_step = (time.perf_counter() - started) / 3
    paused = _pause(page, play)
    assert start < paused < end
    page.wait_for_timeout(2000)  # paused: nothing moves
    assert _shown(page)[0] == paused

    play.click()  # Play after Pause: continues from `paused`, not from 0
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not seen or seen[-1] <= paused):
        page.wait_for_timeout(100)
        seen.append(_shown(page)[0])
    assert seen[-1] > paused, seen
    assert min(seen) >= paused - 1e-9, seen
    moved = _pause(page, play)  # stop the timer before leaving
    assert moved > paused

    _assert_no_error_box(page)
    print(f"\nd=200: Play took {seconds_per_step:.2f} s per step (click to metric)")


def _choose_source(page, mode: str, shown_js: str) -> None:
    """Click the input-mode radio until ``shown_js`` holds (a click in a re-render can be lost)."""
    for _ in range(4):
        _wait_idle(page)
        try:
            page.locator(".st-key-source").get_by_text(mode, exact=True).click(timeout=10_000)
            page.wait_for_function(shown_js, timeout=15_000)
            return
        except Exception:
            page.wait_for_timeout(1000)
    raise AssertionError(f"switching the input mode to {mode} did not take effect")


def test_browser_slider_agrees_after_switching_input_mode(page):
    """Upload (no file: no slider) and back: the slider shows the time the metrics use.

    Its thumb used to sit at 0 while the metrics and figures used lam / 2.
    """
    start, slider = _shown(page)
    assert start == slider and start > 0
    _choose_source(page, "Upload",
                   "() => document.body.innerText.includes('Choose a file to upload')")
    for mode in ("Preset", "Paste"):
        _choose_source(page, mode, f"() => ({PLOTS_DRAWN})(4)")
        shown = _wait_agree(page)
        if mode == "Preset":
            assert shown == pytest.approx(start)  # the time is kept across modes
    _wait_idle(page)
    _assert_no_error_box(page)


def test_browser_train_tab_draws_the_filters(page):
    """The Train tab shows the saved run's first-layer filters as images, without errors."""
    filters_drawn = """() => {
      const plot = document.querySelector('.st-key-fig_train_filters .js-plotly-plot');
      return plot !== null && Array.isArray(plot.data) &&
          plot.data.filter(t => t.type === 'heatmap').length >= 8 &&
          plot.querySelectorAll('.heatmaplayer .hm').length >= 8;
    }"""
    page.get_by_role("tab", name="Train").click()
    page.wait_for_function(filters_drawn, timeout=30_000)
    _wait_idle(page)
    title = page.locator(".st-key-fig_train_filters .gtitle").first.text_content()
    assert title.startswith("First-layer filters")
    particles = page.locator(".st-key-fig_train_particles .scatterlayer .trace")
    assert particles.count() >= 2
    _assert_no_error_box(page)
