"""Playwright fixtures for the browser tests, driving Debian's chromium (Playwright's own browser
download cannot work here). Import the fixtures into a test module with
`from tests.fixtures_browser import *`.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse ORM calls
as "async unsafe"; the test thread never shares a connection with a coroutine, so we allow it —
only while a browser module runs (the deploy check must not see the variable).
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory's password

try:
    import playwright.sync_api as _playwright_api
except ImportError:  # pragma: no cover - dev dependency missing
    _playwright_api = None

browser_required = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM,
        reason="SKIPPED: Debian's chromium is missing (apt-get install chromium, or `make browsers`)",
    ),
    pytest.mark.skipif(
        _playwright_api is None, reason="SKIPPED: playwright is not installed (pip install playwright)"
    ),
]


@pytest.fixture(scope="module")
def chromium():
    """One Playwright + chromium per browser module (imported into several modules, a session
    fixture would start a second Playwright inside the first one's event loop)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with _playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture(autouse=True)
def _plain_http_cookies(settings):
    """The live server speaks plain HTTP; secure-only cookies (the DEBUG=0 default) would be dropped."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def new_page(chromium):
    """new_page(width=1280, height=860, language=None) -> a page in a fresh context (own cookies)."""
    contexts = []

    def make(*, width: int = 1280, height: int = 860, language: str | None = None):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        if language:
            context.add_cookies([{"name": "django_language", "value": language, "url": "http://localhost"}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield make
    for context in contexts:
        context.close()


def log_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()


def screenshot(page, name: str) -> None:
    """Save docs/screenshots/<name>.png for the README (lowercase names)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


__all__ = ["browser_required", "chromium", "log_in", "new_page", "screenshot", "_plain_http_cookies"]
