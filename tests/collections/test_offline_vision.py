"""The offline vision analyzer on generated images (text rendered with Pillow, photos with EXIF),
directly and through the local pipeline with no API key; and its degraded path without OCR."""

from __future__ import annotations

import logging
import sys

import pytest

from benchmarks.offline_images import SCENES, render
from chalicelib import wiring
from chalicelib.collections.analysis_schema import ANALYSIS_SCHEMA
from chalicelib.providers import offline_vision
from chalicelib.providers.base import ProviderOutputError, validate
from chalicelib.providers.offline_llm import OfflineLLM
from tests.collections.conftest import get_item, search, upload

SCENE = {s.id: s for s in SCENES}


def analyse(scene_id: str) -> dict:
    data, _, media_type = render(SCENE[scene_id])
    result = OfflineLLM().complete_json("sys", "analyse", ANALYSIS_SCHEMA, images=[{"media_type": media_type,
                                                                                   "data": data}])
    validate(result.data, ANALYSIS_SCHEMA)
    assert result.provider_used == "offline"
    assert result.model_used == "offline-rapidocr+features-1"
    return result.data


def test_a_photographed_receipt_reads_as_a_grocery_receipt() -> None:
    a = analyse("grocery_receipt")
    text = a["image_details"]["extracted_text"]
    assert "SOURDOUGH BREAD" in text and "TOTAL" in text and "22.47" in text
    assert a["category"] == "receipt" and "groceries" in a["subcategories"]
    assert a["media_metadata"]["image_type"] == "document"
    assert "FRESHMART" in a["headline"]
    assert "supermarket" in a["image_details"]["themes"]  # words a person searches with


def test_a_ramen_menu_screenshot_is_food_and_not_the_receipt() -> None:
    menu, receipt = analyse("ramen_menu"), analyse("recipe_pancakes")
    assert "Tonkotsu Ramen" in menu["image_details"]["extracted_text"]
    assert menu["category"] == "food" and "japanese food" in menu["subcategories"]
    assert menu["media_metadata"]["image_type"] == "screenshot"
    assert menu["headline"].startswith("Menya Kotori")
    assert "red" in menu["media_metadata"]["dominant_colors"] and "white" in menu["media_metadata"]["dominant_colors"]
    assert "recipe" in receipt["subcategories"]
    assert menu["headline"] != receipt["headline"] and menu["summary"] != receipt["summary"]
    assert menu["image_details"]["extracted_text"] != receipt["image_details"]["extracted_text"]


def test_a_photo_reports_its_exif_date_camera_and_place() -> None:
    a = analyse("beach_photo")
    meta = a["media_metadata"]
    assert meta["image_type"] == "photo" and a["category"] == "photo"
    assert meta["taken_at"] == "2025-07-19T16:05:00" and meta["camera"] == "Apple iPhone 15 Pro"
    assert meta["gps"] == pytest.approx({"lat": 38.7223, "lon": -9.1393}, abs=1e-3)
    assert meta["location"].startswith("38.72")
    assert (meta["width"], meta["height"]) == (2000, 1500)
    assert "19 July 2025" in a["summary"] and "Apple iPhone 15 Pro" in a["summary"]
    assert a["image_details"]["extracted_text"] == ""


def test_exif_orientation_and_transparency_are_respected() -> None:
    from PIL import Image

    from tests.collections.images import encode, photo

    exif = Image.Exif()
    exif[0x0112], exif[0x010F], exif[0x0110] = 6, "Google", "Pixel 8"  # stored on its side
    a, _ = offline_vision.analyze_image(encode(photo((640, 480), "green"), "JPEG", exif=exif.tobytes()))
    assert (a["media_metadata"]["width"], a["media_metadata"]["height"]) == (480, 640)
    assert a["media_metadata"]["camera"] == "Google Pixel 8"
    clear = Image.new("RGBA", (300, 200), (0, 0, 0, 0))  # fully transparent: white, not black
    b, _ = offline_vision.analyze_image(encode(clear, "PNG"))
    assert b["media_metadata"]["dominant_colors"] == ["white"]


def test_bytes_that_are_not_an_image_are_unusable_output_not_a_crash() -> None:
    with pytest.raises(ProviderOutputError, match="cannot be read"):
        OfflineLLM().complete_json("s", "p", ANALYSIS_SCHEMA, images=[{"media_type": "image/png", "data": b"nope"}])


@pytest.fixture()
def offline(local_env, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The local stage with no model keys: wiring builds the offline providers."""
    for name in ("ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "VOYAGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    wiring.adapters().forget("llm", "embedder")
    yield
    wiring.adapters().forget("llm")


def test_upload_to_search_with_offline_providers(client, runtime, user, offline) -> None:  # noqa: ANN001
    data, filename, content_type = render(SCENE["ramen_menu"])
    item_id = upload(client, user, data, filename, content_type)
    runtime.drain(timeout=60)
    item = get_item(client, user, item_id).json_body
    assert item["status"] == "ready", item
    latest = item["latest_analysis"]
    assert latest["provider_used"] == "offline" and latest["model_used"] == "offline-rapidocr+features-1"
    assert "Tonkotsu Ramen" in latest["analysis"]["image_details"]["extracted_text"]
    assert item["category"] == "food"
    for mode, query in (("keyword", "ramen"), ("keyword", "noodles menu"), ("hybrid", "japanese noodle place")):
        found = search(client, user, query=query, mode=mode).json_body["results"]
        assert [r["item_id"] for r in found][:1] == [item_id], (mode, query, found)


def test_without_ocr_the_analyzer_says_so_once_and_works_from_features(client, runtime, user, offline,  # noqa: ANN001
                                                                         monkeypatch, caplog) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import raises ImportError
    monkeypatch.setattr(offline_vision, "_engine", None)
    monkeypatch.setattr(offline_vision, "_engine_error", None)
    with caplog.at_level(logging.WARNING, logger="chalicelib.providers.offline_vision"):
        ids = [upload(client, user, *render(SCENE[s])) for s in ("grocery_receipt", "beach_photo")]
        runtime.drain(timeout=60)
    said = [r.getMessage() for r in caplog.records if r.name == "chalicelib.providers.offline_vision"]
    assert len(said) == 1 and "not installed" in said[0] and "features only" in said[0]
    receipt, photo = (get_item(client, user, i).json_body for i in ids)
    assert receipt["status"] == "ready" and photo["status"] == "ready"
    assert receipt["latest_analysis"]["model_used"] == "offline-features-1"
    assert receipt["latest_analysis"]["analysis"]["image_details"]["extracted_text"] == ""
    assert photo["latest_analysis"]["analysis"]["media_metadata"]["camera"] == "Apple iPhone 15 Pro"


def test_the_ocr_models_load_only_when_an_image_is_analysed() -> None:
    """Building the offline providers (every cold start without keys) imports no OCR runtime."""
    import subprocess

    from tests.conftest import ROOT

    probe = ("import sys\nfrom chalicelib.providers.offline_llm import OfflineLLM\nOfflineLLM()\n"
             "print(sorted(m for m in ('rapidocr_onnxruntime', 'onnxruntime', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_phone_screenshot_showing_a_photo_is_still_a_screenshot_of_its_app() -> None:
    import io
    import random

    from PIL import Image

    from benchmarks.offline_images import Scene, _screen

    screen = _screen(Scene("post", "screenshot", "Instagram", ("liked by 120 others",)), random.Random(1))
    picture = Image.open(io.BytesIO(render(SCENE["beach_photo"])[0])).resize((1080, 1400))
    screen.paste(picture, (0, 300))  # most of the screen is camera pixels, not flat UI
    buffer = io.BytesIO()
    screen.save(buffer, "JPEG", quality=85)
    a, used_ocr = offline_vision.analyze_image(buffer.getvalue())
    assert used_ocr and a["media_metadata"]["image_type"] == "screenshot"
    assert a["media_metadata"]["platform"] == "Instagram" and "Instagram" in a["image_details"]["themes"]
