"""Browser tests of the web console: Debian's Chromium driven by Playwright (sync API) against
the live local server (tests/live_server.py: the real app and local runtime). One server and one
browser per module; every test gets a fresh browser context and fails on any console error."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_JWT_SECRET
from tests.live_server import local_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def chromium_or_skip() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        pytest.skip("browser tests need Chromium: `apt-get install -y chromium` (Debian), or set CHROMIUM_PATH")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("browser tests need the playwright package: pip install -r requirements-dev.txt")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    chromium_or_skip()  # skip before paying for a server
    with local_server(tmp_path_factory.mktemp("console-server"), pg_url, TEST_JWT_SECRET) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server: Any) -> Iterator[Any]:  # noqa: ARG001 - ordered after the server
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class ConsoleErrors:
    """Every console error and uncaught exception of a page (a test may allow known ones)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.allowed: list[str] = []

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(a in m for a in self.allowed)]


@pytest.fixture()
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture()
def page(browser: Any, server: Any, console_errors: ConsoleErrors) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server[0])
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("console", lambda m: console_errors.messages.append(f"console.{m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.messages.append(f"uncaught: {e}"))
    yield page
    context.close()
    assert not console_errors.unexpected(), console_errors.unexpected()


def sign_in(page: Any, user: str, start: str = "/#/collection") -> None:
    """Sign in through the console's local sign-in form."""
    page.goto(start)
    page.get_by_label("Sign in as").fill(user)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#who:has-text('Signed in as')")


def screenshot(page: Any, name: str) -> None:
    """A small PNG for docs/console.md (only when CONSOLE_SCREENSHOTS=1: the committed ones stay put)."""
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":
        import io

        from PIL import Image

        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
        shot.quantize(colors=64).save(DOCS_IMG / name, optimize=True)  # a palette PNG: a few tens of KB


@pytest.fixture()
def app_env(server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """This process wired to the live server's stage (its database and data folder), so a test
    can seed data through the app's own repositories and services."""
    from chalicelib import settings, wiring

    _, env = server
    for name in ("STAGE", "LOCAL_DATA_DIR", "DATABASE_URL", "JWT_SECRET"):
        monkeypatch.setenv(name, env[name])
    settings.reset()
    from app import app

    wiring.set_app(app)
    yield env
    wiring.set_app(None)
    settings.reset()


def seed_page(user: str, page_type: str, components: dict[str, Any]) -> None:
    """Put a page into the user's cache the way the generator does (claim its job, complete it)."""
    import uuid
    from datetime import timedelta

    from chalicelib import wiring
    from chalicelib.pages.model import GeneratedPage
    from chalicelib.pages.repository import PagesRepository

    repository = PagesRepository(wiring.pages_engine())
    token = str(uuid.uuid4())
    job = repository.claim_for_page(user, page_type, token, timedelta(seconds=60))
    assert job is not None
    assert repository.complete(job, token, GeneratedPage(components=components, relevance_score=0.9,
                                                         provider_used="offline", model_used="test-seed"))
