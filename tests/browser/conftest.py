"""Browser tests: `manageit-bot demo` (no Telegram token) as a subprocess on free ports, and its
chat page driven in headless Chromium (Debian's /usr/bin/chromium) through Playwright.

Nothing is downloaded at run time: Playwright's Python package carries its driver, and the
browser is the system's. When the browser or Playwright is missing these tests ERROR with
a message saying how to install them; they never skip quietly. To skip them knowingly on a
machine without a browser, set MANAGEIT_SKIP_BROWSER_TESTS=1.

Screenshots go to the test's tmp folder; with MANAGEIT_UPDATE_SCREENSHOTS=1 the two README
screenshots in docs/ are written too.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_DELAY = 1.0  # seconds a new server stays "creating" in the sandbox
POLL = "0.3"  # the bot's status poll, so the "active" notice comes quickly

_LOUD = "=" * 78


def _cannot_run(reason: str) -> None:
    pytest.fail(
        f"\n{_LOUD}\nBROWSER TESTS CANNOT RUN: {reason}\n"
        "Install Debian's Chromium and the test extra:\n"
        "    apt-get update && apt-get install -y chromium fonts-noto-core\n"
        "    .venv/bin/python -m pip install -e '.[test]'\n"
        "(or set MANAGEIT_SKIP_BROWSER_TESTS=1 to skip them knowingly)\n"
        f"{_LOUD}",
        pytrace=False,
    )


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    if os.environ.get("MANAGEIT_SKIP_BROWSER_TESTS") == "1":
        pytest.skip("MANAGEIT_SKIP_BROWSER_TESTS=1: browser tests skipped on request")
    path = chromium_path()
    if path is None:
        _cannot_run("no Chromium found at /usr/bin/chromium (nor CHROMIUM_PATH, nor `chromium` on PATH)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        _cannot_run(f"the Python package playwright is not installed ({exc})")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="module")
def browser(chromium):
    """Per module: Playwright's sync API holds an event loop in this thread while it runs,
    which the asyncio tests of other modules (pytest-asyncio) must not find there."""
    from playwright.sync_api import Error, sync_playwright

    pw = sync_playwright().start()
    try:
        # Playwright gives the browser a fresh, empty user data dir of its own.
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
    except Error as exc:
        pw.stop()
        _cannot_run(f"Chromium at {chromium} did not start under Playwright: {exc}")
    yield b
    b.close()
    pw.stop()


# ---------------------------------------------------------------------------------- demo


@dataclass
class Demo:
    url: str
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    log_path: Path | None = None

    def output(self) -> str:
        text = "\n".join(self.lines)
        if self.log_path and self.log_path.exists():
            text += "\n--- log ---\n" + self.log_path.read_text(errors="replace")[-6000:]
        return text


def demo_command() -> list[str]:
    script = Path(sys.executable).with_name("manageit-bot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def start_demo(workdir: Path, *extra: str, timeout: float = 30.0) -> Demo:
    env = {
        k: v for k, v in os.environ.items()
        if k not in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "MANAGEIT_API_URL", "DATABASE_URL",
                     "DATA_DIR", "ENCRYPTION_KEYS", "DISPLAY", "WAYLAND_DISPLAY")
    }
    env.update(STATUS_POLL_SECONDS=POLL, PYTHONUNBUFFERED="1", LOG_LEVEL="INFO")
    log_path = workdir / "demo.log"
    log_file = open(log_path, "w")
    cmd = demo_command() + ["demo", "--port", "0", "--sandbox-port", "0", "--delay", str(DEMO_DELAY),
                            "--no-browser", *extra]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=log_file, text=True)
    log_file.close()
    demo = Demo(url="", process=proc, log_path=log_path)
    found = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            demo.lines.append(line.rstrip("\n"))
            match = re.search(r"Chat page: (http://127\.0\.0\.1:\d+/)", line)
            if match and not demo.url:
                demo.url = match.group(1)
                found.set()
        found.set()

    threading.Thread(target=reader, daemon=True).start()
    if not found.wait(timeout) or not demo.url:
        stop_demo(demo)
        raise AssertionError(f"`manageit-bot demo` printed no chat page address in {timeout:g} s:\n{demo.output()}")
    return demo


def stop_demo(demo: Demo, timeout: float = 15.0) -> int | None:
    proc = demo.process
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            return None
    return proc.returncode


@pytest.fixture(scope="session")
def demo(chromium, tmp_path_factory):
    """One `manageit-bot demo` for the session; each test acts as its own user or chat."""
    d = start_demo(tmp_path_factory.mktemp("demo"))
    yield d
    code = stop_demo(d)
    assert code == 0, f"demo did not stop cleanly on Ctrl+C (exit {code}):\n{d.output()}"


@pytest.fixture
def page(browser, demo, request, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        try:
            pg.screenshot(path=str(tmp_path / "failure.png"))
            print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
        except Exception:
            pass
    context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def save_screenshot(page, name: str, tmp_path: Path) -> Path:
    """A screenshot in the test's tmp folder, and in docs/ when MANAGEIT_UPDATE_SCREENSHOTS=1."""
    path = tmp_path / name
    page.mouse.move(1, 1)  # no hover effects in the picture
    page.wait_for_timeout(300)  # let the last scroll and transitions settle
    page.screenshot(path=str(path))
    if os.environ.get("MANAGEIT_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / name)
    return path



def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (see pyproject's addopts) every browser test goes to one worker:
    they share one demo and one Chromium."""
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(Path(__file__).resolve().parent):
            item.add_marker(pytest.mark.xdist_group("browser"))
