"""The collection and search in a real browser: two images uploaded through the file input
become ready with thumbnails; the item view shows the original and every analysis version;
search finds one with its score and highlighted words."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.collections import images
from tests.conftest import make_token
from tests.console.conftest import screenshot, sign_in


def _api(base: str, user: str, path: str) -> Any:
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {make_token(user)}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def test_upload_two_images_see_them_ready_then_search_one(page, server, tmp_path: Path) -> None:  # noqa: ANN001
    base, _ = server
    user = f"ann-{uuid.uuid4().hex[:6]}"
    red, blue = tmp_path / "red-square.jpg", tmp_path / "blue-sky.png"
    red.write_bytes(images.jpeg((900, 700), "red"))
    blue.write_bytes(images.png((800, 600), "blue"))
    sign_in(page, user)

    page.set_input_files("#file-input", [str(red), str(blue)])
    uploads = page.locator(".uploads li")
    page.wait_for_function("() => document.querySelectorAll('.uploads li').length === 2")
    for row in range(2):
        assert uploads.nth(row).locator("progress").get_attribute("max") == "1"
    page.wait_for_selector(".uploads li:nth-child(2) >> text=uploaded")

    ready = page.locator(".item-card[data-status='ready']")
    page.wait_for_function("() => document.querySelectorAll(\".item-card[data-status='ready']\").length === 2", timeout=60_000)
    page.wait_for_function("() => [...document.querySelectorAll('.item-card img.thumb')].length === 2 && "
                           "[...document.querySelectorAll('.item-card img.thumb')].every(i => i.complete && i.naturalWidth > 0)")
    assert sorted(ready.locator(".filename").all_text_contents()) == ["blue-sky.png", "red-square.jpg"]
    assert page.locator(".item-card").count() == 2
    screenshot(page, "console-collection.png")

    # the item view: the original, version 1, re-analyse -> version 2
    page.locator(".item-card", has_text="red-square.jpg").click()
    page.wait_for_selector("img.original")
    page.wait_for_function("() => document.querySelector('img.original').naturalWidth > 0")
    page.wait_for_selector(".analysis[data-version='1']")
    page.get_by_role("button", name="Re-analyse").click()
    page.wait_for_selector(".analysis[data-version='2']", timeout=60_000)
    page.wait_for_selector("[data-testid='item-status'] >> text=ready", timeout=60_000)
    screenshot(page, "console-item.png")

    # filters: by status, by category
    page.goto("/#/collection")
    page.select_option("#filter-status", "failed")
    page.wait_for_selector("text=0 items shown")
    page.select_option("#filter-status", "ready")
    page.wait_for_function("() => document.querySelectorAll('.item-card').length === 2")

    # search one by a word of its headline
    items = _api(base, user, "/items")["items"]
    target = next(i for i in items if i["filename"] == "blue-sky.png")
    word = max(re.findall(r"[A-Za-z]{4,}", target["headline"] or ""), key=len)  # the longest: not a stop word
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search your images").fill(word)
    page.get_by_label("Keyword").check()
    page.get_by_role("button", name="Search", exact=True).click()
    result = page.locator(f".result[data-item-id='{target['item_id']}']")
    result.wait_for()
    assert re.match(r"score \d+\.\d{3}", result.locator(".score").text_content())
    assert word.lower() in [m.lower() for m in result.locator("mark").all_text_contents()]
    page.wait_for_function("() => [...document.querySelectorAll('.result img.thumb')].every(i => i.complete && i.naturalWidth > 0)")

    # the answer, with its citations linked to the items
    page.get_by_label("Answer the question from my images (with citations)").check()
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector(".answer .answer-text", timeout=60_000)  # offline: extractive, from the analyses
    assert page.locator(".answer .answer-text").text_content().strip()
    cited = page.locator(".citations a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert cited and set(cited) <= {f"#/items/{i['item_id']}" for i in items}, cited
    screenshot(page, "console-search.png")
    result.get_by_role("link").first.click()
    page.wait_for_selector("h1:has-text('blue-sky.png')")

    # delete asks once more, then the item is gone
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("button", name="Yes, delete it and its analyses").click()
    page.wait_for_selector("h1:text('Collection')")
    page.wait_for_function("() => document.querySelectorAll('.item-card').length === 1")
    assert page.locator(".item-card .filename").text_content() == "red-square.jpg"


def test_images_dropped_on_the_drop_zone_upload_with_progress(page, server) -> None:  # noqa: ANN001
    import base64

    user = f"dan-{uuid.uuid4().hex[:6]}"
    sign_in(page, user)
    files = [{"name": f"dropped-{n}.jpg", "type": "image/jpeg",
              "data": base64.b64encode(images.jpeg((640, 480), color)).decode()}
             for n, color in enumerate(("green", "red", "blue"))]
    files.append({"name": "notes.txt", "type": "text/plain", "data": base64.b64encode(b"not an image").decode()})
    transfer = page.evaluate_handle("""files => {
        const dt = new DataTransfer();
        for (const f of files) {
            const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
            dt.items.add(new File([bytes], f.name, {type: f.type}));
        }
        return dt;
    }""", files)
    page.dispatch_event("[data-testid='dropzone']", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("[data-testid='dropzone']", "drop", {"dataTransfer": transfer})
    page.wait_for_selector(".uploads li:has-text('notes.txt') >> text=only JPEG and PNG images are accepted")
    page.wait_for_function("() => [...document.querySelectorAll('.uploads li')].filter(li => "
                           "li.textContent.includes('uploaded') && li.querySelector('progress')?.value === 1).length === 3")
    page.wait_for_function("() => document.querySelectorAll(\".item-card[data-status='ready'] img.thumb\").length === 3",
                           timeout=60_000)
    names = sorted(page.locator(".item-card .filename").all_text_contents())
    assert names == ["dropped-0.jpg", "dropped-1.jpg", "dropped-2.jpg"]


def test_a_thousand_items_page_smoothly(page, server, app_env) -> None:  # noqa: ANN001
    """1,000 items: the first page shows at once, scrolling fetches cursor pages of at most 100,
    and every item is reachable; no request asks for the whole collection."""
    import time

    from chalicelib import wiring
    from chalicelib.collections.model import ItemStatus
    from chalicelib.collections.repository import CollectionsRepository

    user = f"kit-{uuid.uuid4().hex[:6]}"
    repository = CollectionsRepository(wiring.engine())
    for n in range(1000):
        item_id = str(uuid.uuid4())
        repository.create_awaiting_upload(item_id=item_id, user_id=user, filename=f"photo-{n:04d}.jpg",
                                          file_path=f"uploads/{user}/{item_id}.jpg", mime_type="image/jpeg")
        repository.set_status(item_id, ItemStatus.FAILED, error="seeded without bytes")
    listings: list[str] = []
    page.on("request", lambda r: listings.append(r.url) if "/items?" in r.url else None)
    sign_in(page, user)
    started = time.monotonic()
    page.wait_for_selector(".item-card")
    first_page = time.monotonic() - started
    assert 0 < page.locator(".item-card").count() <= 100
    first = page.locator(".item-card").first
    assert first.locator(".badge").text_content() == "failed"
    assert first.locator(".error").text_content() == "seeded without bytes"  # failed with its reason
    started = time.monotonic()
    while page.locator(".item-card").count() < 1000:
        page.mouse.wheel(0, 20_000)
        page.wait_for_timeout(50)
        assert time.monotonic() - started < 60, "scrolling through 1,000 items took over a minute"
    scrolled = time.monotonic() - started
    assert page.locator(".item-card").count() == 1000
    page.wait_for_selector("text=1000 items shown")
    names = page.locator(".item-card .filename").all_text_contents()
    assert sorted(names) == [f"photo-{n:04d}.jpg" for n in range(1000)]  # each once, none missing
    limits = [int(re.search(r"limit=(\d+)", url).group(1)) for url in listings]
    assert limits and max(limits) <= 100 and len(listings) >= 10
    print(f"1,000 items: first page {first_page * 1000:.0f} ms, all pages by scrolling {scrolled:.1f} s, "
          f"{len(listings)} list requests")
