"""The animation in a real browser: `streamlit run app.py` (and the standalone page) in Chromium.

Measures and asserts the player's targets on this machine:

* at least 30 animation frames per second in which the picture changes at d = 1000, and at
  least 20 at d = 10000 (requestAnimationFrame callbacks counted in the page; a callback
  counts when the player drew a new time since the previous one);
* Pause stops on the first click, 20 times out of 20;
* a time step (arrow key on the slider) is drawn within 100 ms (key down to the first
  animation frame after the redraw, timed in the page);
* no message from the page to the server while playing or scrubbing (Playwright's
  websocket ``framesent`` events);
* the standalone page (docs/particles.html) plays from a file:// URL with no request;
* eight sessions on one server render without error (time per session printed), and
  eight playing sessions send the server nothing.

Measured figures are printed (run with ``-s``). Screenshot of the Watch tab: saved to a
temporary file, or to ``$WS_SCREENSHOT`` (relative to the repository root), e.g.::

    WS_SCREENSHOT=docs/screenshot.png python -m pytest tests/test_app_browser.py -s -k screenshot

The browser: Playwright's own Chromium if it is installed
(``python -m playwright install chromium``), else Debian's ``/usr/bin/chromium``.
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
STANDALONE = ROOT / "docs" / "particles.html"
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

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUNNING = '[data-testid="stStatusWidget"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
READY = "() => { const r = document.querySelector('.wsp-root');" \
        " return r !== null && r.dataset.ready === '1'; }"
# Counts, in the page, the animation frames in which the player drew a new time.
COUNT_FRAMES = """(seconds) => new Promise((done) => {
  const root = document.querySelector('.wsp-root');
  let last = root.dataset.t, changed = 0, ticks = 0, start = null;
  const tick = (now) => {
    if (start === null) start = now;
    ticks++;
    if (root.dataset.t !== last) { changed++; last = root.dataset.t; }
    if (now - start < seconds * 1000) requestAnimationFrame(tick);
    else done({changed, ticks, seconds: (now - start) / 1000});
  };
  requestAnimationFrame(tick);
})"""
# Arrow-key steps on the slider, each timed from key down to the first animation frame
# after the player has drawn the new time (so the drawing has reached the screen).
TIME_KEY_STEPS = """(n) => new Promise((done) => {
  const root = document.querySelector('.wsp-root');
  const slider = root.querySelector('.wsp-slider');
  const latencies = [];
  let pressed = null;
  slider.addEventListener('keydown', () => { pressed = performance.now(); }, true);
  new MutationObserver(() => {
    if (pressed === null) return;
    const t0 = pressed;
    pressed = null;
    requestAnimationFrame(() => latencies.push(performance.now() - t0));
  }).observe(root, {attributes: true, attributeFilter: ['data-t']});
  slider.focus();
  window.__latencies = latencies;
  done(true);
})"""


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


def _chromium_executable() -> str:
    """The Chromium to launch: Playwright's own if it is installed, else Debian's."""
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


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


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


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Sent:
    """Counts the websocket messages a page sends to the server."""

    def __init__(self, page):
        self.count = 0
        page.on("websocket", lambda ws: ws.on("framesent", self._sent))

    def _sent(self, payload) -> None:
        self.count += 1


def _open_app(browser, server):
    """A fresh page on the app, its player drawn and the app idle; (page, Sent)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    sent = Sent(page)
    page.goto(server, wait_until="domcontentloaded")
    _player(page, timeout_ms=60_000)
    _wait_idle(page)
    return page, sent


def _wait_idle(page, timeout_ms: float = 30_000) -> None:
    """Wait until the script run has finished (the 'Running...' widget is gone)."""
    page.wait_for_timeout(150)
    page.wait_for_selector(RUNNING, state="detached", timeout=timeout_ms)


def _assert_no_error_box(page) -> None:
    errors = page.locator(ERRORS)
    assert errors.count() == 0, errors.all_inner_texts()


def _player(page, timeout_ms: float = 30_000, d: int | None = None):
    """The frame holding the (ready) player; of ``d`` weights if given."""
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                if frame.evaluate(READY) and (d is None or frame.evaluate(
                        "() => JSON.parse(document.querySelector('script.wsp-data')"
                        ".textContent).d") == d):
                    return frame
            except Exception:  # a frame detached while the page re-renders
                continue
        page.wait_for_timeout(200)
    raise TimeoutError(f"no player{'' if d is None else f' of d = {d}'} became ready")


def _set_d(page, d: int):
    box = page.locator(".st-key-d input")
    box.fill(str(d))
    box.press("Enter")
    frame = _player(page, timeout_ms=60_000, d=d)
    _wait_idle(page)
    return frame


def _playing(frame) -> bool:
    return frame.evaluate("() => document.querySelector('.wsp-root').dataset.playing") == "1"


def _fps(frame, seconds: float = 2.0) -> dict:
    """Play from the start for ``seconds`` (less than the whole animation) and count."""
    frame.evaluate("() => document.querySelector('.wsp-root').player.show(0)")
    frame.click(".wsp-play")
    result = frame.evaluate(COUNT_FRAMES, seconds)
    if _playing(frame):
        frame.click(".wsp-play")  # pause
    return dict(result, fps=result["changed"] / result["seconds"])


def _pause_clicks(frame, n: int = 20) -> int:
    """Play then Pause ``n`` times; how many Pauses stopped the time at once."""
    stopped = 0
    frame.evaluate("() => document.querySelector('.wsp-root').player.show(0)")
    for _ in range(n):
        assert not _playing(frame)
        frame.click(".wsp-play")
        frame.wait_for_timeout(120)
        frame.click(".wsp-play")
        t = frame.evaluate("() => document.querySelector('.wsp-root').dataset.t")
        playing = frame.evaluate("() => document.querySelector('.wsp-root').dataset.playing")
        frame.wait_for_timeout(250)
        later = frame.evaluate("() => document.querySelector('.wsp-root').dataset.t")
        stopped += playing == "0" and later == t
    return stopped


def _key_steps(frame, n: int = 10) -> list[float]:
    frame.evaluate(TIME_KEY_STEPS, n)
    slider = frame.locator(".wsp-slider")
    for _ in range(n):
        slider.press("ArrowRight")
        frame.wait_for_timeout(60)
    frame.wait_for_timeout(200)
    return frame.evaluate("() => window.__latencies")


def _exact_state_shown(frame, traj) -> None:
    """The drawn clusters at a few times are the trajectory's, to rounding."""
    import numpy as np

    scale = float(np.abs(traj.positions(0.0)).max())
    for t in (0.0, 0.37, 0.8):
        frame.evaluate(f"() => document.querySelector('.wsp-root').player.show({t})")
        shown = frame.evaluate("() => document.querySelector('.wsp-root').player.shown()")
        position, mass, _ = traj.cluster_state(t)
        if shown["x"]:  # drawn as marks (else as a density)
            np.testing.assert_allclose(shown["x"], position, rtol=0, atol=1e-12 * scale)
            np.testing.assert_array_equal(shown["mass"], mass)
        assert shown["n"] == position.size


def test_player_targets_in_the_app(browser, server):
    """fps at d = 1000 and 10000, Pause 20/20, time steps <= 100 ms, nothing sent."""
    from demo import inputs
    from particles import simulate

    page, sent = _open_app(browser, server)
    try:
        report = []
        for d, target in ((1000, 30.0), (10_000, 20.0)):
            frame = _set_d(page, d)
            _assert_no_error_box(page)
            traj = simulate(inputs.make_preset("Random normal", d, seed=0, lam=1.0))
            _exact_state_shown(frame, traj)
            before = sent.count
            measured = _fps(frame)
            stopped = _pause_clicks(frame)
            latencies = _key_steps(frame)
            during = sent.count - before
            report.append(f"d={d}: {measured['fps']:.1f} changed frames/s "
                          f"({measured['ticks'] / measured['seconds']:.1f} rAF/s), "
                          f"pause {stopped}/20, key step max {max(latencies):.1f} ms "
                          f"(median {sorted(latencies)[len(latencies) // 2]:.1f}), "
                          f"{during} messages sent while playing and scrubbing")
            assert measured["fps"] >= target, report[-1]
            assert stopped == 20, report[-1]
            assert len(latencies) == 10 and max(latencies) <= 100.0, report[-1]
            assert during == 0, report[-1]
        print("\n" + "\n".join(report) + f"\n{_load()}")
    finally:
        page.close()


def test_family_player_plays_in_the_app(browser, server):
    page, sent = _open_app(browser, server)
    try:
        page.locator(".st-key-penalty input").click()  # opens the list of penalties
        page.get_by_role("option", name="OSCAR", exact=True).click()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            frame = _player(page)
            if "OSCAR" in frame.inner_text(".wsp-headline"):
                break
            page.wait_for_timeout(300)
        _wait_idle(page)
        _assert_no_error_box(page)
        assert "on the wall at 0" in frame.inner_text(".wsp-particles .wsp-title")
        before = sent.count
        measured = _fps(frame, seconds=1.5)
        assert measured["changed"] > 10 and sent.count == before
    finally:
        page.close()


def test_standalone_page_plays_from_a_file(browser):
    assert STANDALONE.exists(), "write it: python -m demo.export docs/particles.html"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(STANDALONE.as_uri())
        page.wait_for_function(
            "() => [...document.querySelectorAll('.wsp-root')].every(r => r.dataset.ready)"
            " && document.querySelectorAll('.wsp-root').length === 2", timeout=30_000)
        frame = page.main_frame
        measured = _fps(frame, seconds=1.5)
        stopped = _pause_clicks(frame, n=5)
        print(f"\nstandalone page: {measured['fps']:.1f} changed frames/s, pause {stopped}/5,"
              f" {_load()}")
        assert measured["fps"] >= 20 and stopped == 5
        assert all(url.startswith("file://") for url in requests), requests
    finally:
        page.close()


def test_eight_sessions_render_and_playing_sends_nothing(browser, server):
    """Eight sessions at once: each renders without error; playing adds no server work."""
    pages = []
    try:
        started = time.perf_counter()
        for _ in range(8):
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            pages.append((page, Sent(page), time.perf_counter()))
            page.goto(server, wait_until="commit")
        seconds = []
        for page, _, opened in pages:
            _player(page, timeout_ms=120_000)
            seconds.append(time.perf_counter() - opened)
        for page, _, _ in pages:
            _wait_idle(page, timeout_ms=60_000)
            _assert_no_error_box(page)
        total = time.perf_counter() - started
        counts = [sent.count for _, sent, _ in pages]
        for page, _, _ in pages:
            _player(page).click(".wsp-play")
        pages[0][0].wait_for_timeout(3000)
        added = [sent.count - before for (_, sent, _), before in zip(pages, counts)]
        print(f"\n8 sessions: first render {', '.join(f'{s:.1f}' for s in seconds)} s "
              f"(all within {total:.1f} s); messages sent while all 8 played 3 s: {added}; "
              f"{_load()}")
        assert added == [0] * 8
    finally:
        for page, _, _ in pages:
            page.close()


def test_later_session_renders_quickly(browser, server):
    """With the server warm, a new session at d = 200 shows its player within 3 s.

    3 s on an idle machine: the budget grows with the load per core above 1 (this
    2-core machine is shared; the measured time and load are printed).
    """
    _open_app(browser, server)[0].close()  # warm: the simulation and player are cached
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        started = time.perf_counter()
        page.goto(server, wait_until="commit")
        _player(page, timeout_ms=30_000)
        seconds = time.perf_counter() - started
        budget = 3.0 * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
        print(f"\nlater session at d = 200: player ready {seconds:.2f} s after the request "
              f"(budget {budget:.1f} s); {_load()}")
        assert seconds <= budget
    finally:
        page.close()


def test_tabs_open_lazily_without_errors(browser, server):
    """Each tab runs when it is opened (a rerun), and shows its content without an error."""
    page, _ = _open_app(browser, server)
    try:
        for name, shown in (("Compare", "Every solver on this input"),
                            ("Validate", "Check your own prox output"),
                            ("Train", "Weight sharing inside a network")):
            page.get_by_role("tab", name=name).click()
            page.get_by_text(shown, exact=True).wait_for(timeout=60_000)
            _wait_idle(page, timeout_ms=60_000)
            _assert_no_error_box(page)
    finally:
        page.close()


def test_screenshot_of_the_watch_tab(browser, server, tmp_path):
    page, _ = _open_app(browser, server)
    try:
        frame = _player(page)
        frame.evaluate("() => document.querySelector('.wsp-root').player.show(0.45)")
        height = page.evaluate(
            "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
            ".getBoundingClientRect().bottom + 40")
        page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 2400)})
        page.wait_for_timeout(600)
        frame = _player(page)
        frame.evaluate("() => document.querySelector('.wsp-root').player.show(0.45)")
        chosen = os.environ.get(SCREENSHOT_ENV)
        path = tmp_path / "screenshot.png" if not chosen else (
            Path(chosen) if Path(chosen).is_absolute() else ROOT / chosen)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        print(f"\nscreenshot: {path}")
    finally:
        page.close()
