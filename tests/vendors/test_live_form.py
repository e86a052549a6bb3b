"""`make run` end to end with a real browser: the worker e-mails vendors into the outbox, `make
outbox` lists the links, and a vendor fills the HTML form in Chromium under its CSP (no
violation reported) and the quote reaches the task."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_JWT_SECRET
from tests.live_server import local_server, wait_for
from tests.test_end_to_end_local import call

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_a_vendor_answers_in_a_browser_through_make_run(tmp_path: Path, pg_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with local_server(tmp_path, pg_url, TEST_JWT_SECRET) as (base, env):
        token = subprocess.run([sys.executable, "-m", "chalicelib.auth", "alice"], cwd=ROOT, env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
        status, created = call("POST", f"{base}/tasks", token, json.dumps(
            {"description": "Find me a landscaper in Charlotte <b>for</b> a small lawn"}).encode())
        assert status == 202
        task_url = f"{base}/tasks/{created['id']}"
        task = wait_for(lambda: (t := call("GET", task_url, token)[1])["status"] == "completed" and t)
        assert task["emails_sent"] == 3 and task["provider_used"] == "offline"

        listing = subprocess.run([sys.executable, "-m", "localdev.outbox"], cwd=ROOT, env=env,
                                 capture_output=True, text=True, check=True).stdout
        assert "3 message(s)" in listing
        link = re.search(r"(http://127\.0\.0\.1:\d+/vendor/quotes/\S+)", listing).group(1)
        assert link.startswith(base)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.goto(link)
            assert page.locator("h1").inner_text().startswith("Quote request for ")
            assert "<b>for</b>" in page.locator("blockquote").inner_text()  # shown as text
            page.fill("#price", "275.50")
            page.fill("#note", "Weekly, starting Monday")
            page.click("button[type=submit]")
            page.wait_for_load_state()
            assert "Your quote of 275.50 USD was recorded" in page.content()
            page.goto(link)  # the link is used up: the page shows the quote, no form
            assert page.locator("form").count() == 0
            browser.close()
        assert not [p for p in problems if "Content Security Policy" in p], problems

        task = call("GET", task_url, token)[1]
        assert [(q["price"], q["currency"], q["note"]) for q in task["quotes"]] == [
            (275.5, "USD", "Weekly, starting Monday")]
