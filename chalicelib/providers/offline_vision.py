"""Offline vision analysis: what a person would note about an image, read on this machine.

- Text by OCR (``rapidocr-onnxruntime``, whose wheel ships its ONNX models; nothing is
  downloaded). Detection runs on a copy at most ``DET_EDGE`` px on the long side (its cost grows
  with the pixel count); each detected line is then cut from the image at up to ``REC_EDGE`` px
  and recognised there, so small text stays legible while a 1600x1200 image takes about a
  second on two cores.
- Features: size, dominant colours with names, how flat the picture is (rendered pixels repeat
  exactly, camera pixels do not), text coverage, EXIF date, camera and GPS.
- Kind (photo, screenshot, document, illustration) from those features, and category,
  subcategories, headline and summary from the words read (:mod:`offline_lexicon`).

When the OCR package cannot be imported or loaded, the analyzer works from the features alone
and says so once (``ocr_status``); it never raises for that.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image

from chalicelib.providers.base import Image as ImageInput
from chalicelib.providers.base import JsonResult, ProviderOutputError, normalize_image, validate
from chalicelib.providers.offline_lexicon import LEXICON, PLATFORMS, RELATED, WEIGHT

log = logging.getLogger(__name__)

OFFLINE = "offline"
MODEL = "offline-rapidocr+features-1"
MODEL_NO_OCR = "offline-features-1"
DET_EDGE = 960  # detection input, long side (RapidOCR runs it at this size, no rescale)
REC_EDGE = 2048  # lines are cut from the image at up to this size, long side
REC_THREADS = max(1, min(2, os.cpu_count() or 1))
MIN_SCORE = 0.5  # recognised lines below this confidence are dropped
MAX_PIXELS = 50_000_000
_TRANSPOSES = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
               5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
               8: Image.Transpose.ROTATE_90}

_engine: Any = None
_engine_error: str | None = None
_engine_lock = threading.Lock()


def ocr_status() -> str | None:
    """None when OCR can be used; else why not (checked without loading the models)."""
    if _engine_error:
        return _engine_error
    import importlib.util

    try:
        found = importlib.util.find_spec("rapidocr_onnxruntime") is not None
    except (ImportError, ValueError):
        found = False
    return None if found else "rapidocr-onnxruntime is not installed"


def _ocr_engine() -> Any | None:
    """The OCR engine, loaded once per process on first use; None (logged once) if it cannot be."""
    global _engine, _engine_error
    if _engine is not None or _engine_error is not None:
        return _engine
    with _engine_lock:
        if _engine is None and _engine_error is None:
            try:
                from rapidocr_onnxruntime import RapidOCR

                # One thread per model call: the lines are recognised in REC_THREADS parallel calls
                # instead, which on a busy machine costs half the CPU of onnxruntime's spinning pool.
                _engine = RapidOCR(det_limit_type="max", det_limit_side_len=DET_EDGE, print_verbose=False,
                                   intra_op_num_threads=1, inter_op_num_threads=1)
            except Exception as exc:  # noqa: BLE001 - any failure means "no OCR", never a crash
                _engine_error = f"OCR unavailable ({type(exc).__name__}: {exc})"
                log.warning("offline vision: %s; analysing images from their features only", _engine_error)
    return _engine


@dataclass(frozen=True)
class Line:
    text: str
    score: float
    top: float  # fraction of the image height
    height: float  # fraction of the image height
    area: float  # fraction of the image area


def read_text(im: Image.Image) -> list[Line] | None:
    """The image's text lines in reading order; None when OCR is unavailable."""
    engine = _ocr_engine()
    if engine is None:
        return None
    import numpy as np

    rec = _fit(im, REC_EDGE)
    det = _fit(rec, DET_EDGE)
    rec_bgr = np.ascontiguousarray(np.asarray(rec.convert("RGB"))[:, :, ::-1])
    det_bgr = np.ascontiguousarray(np.asarray(det.convert("RGB"))[:, :, ::-1])
    boxes, _ = engine.text_det(det_bgr)
    if boxes is None or len(boxes) == 0:
        return []
    boxes = engine.sorted_boxes(boxes * (rec.width / det.width))
    crops = engine.get_crop_img_list(rec_bgr, [b.astype("float32") for b in boxes])
    recognised = _recognise(engine, crops)
    pieces = []
    for box, (text, score) in zip(boxes, recognised, strict=True):
        text = " ".join(str(text).split())
        if sum(c.isalnum() for c in text) >= 2 and float(score) >= MIN_SCORE:  # lone marks are noise
            xs, ys = box[:, 0], box[:, 1]
            pieces.append((float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()), text, float(score)))
    return _rows(pieces, *rec.size)


def _recognise(engine: Any, crops: list[Any]) -> list[tuple[str, float]]:
    """(text, score) per crop, in order; the crops are shared out, by width, over parallel calls
    (onnxruntime releases the GIL while it runs)."""
    workers = min(REC_THREADS, len(crops))
    if workers <= 1:
        return list(engine.text_rec(crops)[0])
    from concurrent.futures import ThreadPoolExecutor

    order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
    shares = [order[k::workers] for k in range(workers)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr") as pool:
        parts = list(pool.map(lambda idx: engine.text_rec([crops[i] for i in idx])[0], shares))
    out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
    for idx, part in zip(shares, parts, strict=True):
        for i, answer in zip(idx, part, strict=True):
            out[i] = (answer[0], answer[1])
    return out


def _rows(pieces: list[tuple[float, float, float, float, str, float]], w: int, h: int) -> list[Line]:
    """Boxes on one visual row (vertical centres within half a box height) joined left to right:
    a price column or a word the detector split stays on its line."""
    rows: list[list[tuple[float, float, float, float, str, float]]] = []
    for piece in sorted(pieces, key=lambda p: (p[2] + p[3]) / 2):
        centre, height = (piece[2] + piece[3]) / 2, piece[3] - piece[2]
        if rows:
            last = rows[-1]
            last_centre = sum((p[2] + p[3]) / 2 for p in last) / len(last)
            if abs(centre - last_centre) <= 0.5 * max(height, max(p[3] - p[2] for p in last)):
                last.append(piece)
                continue
        rows.append([piece])
    lines = []
    for row in rows:
        row.sort(key=lambda p: p[0])
        y0 = min(p[2] for p in row)
        height = max(p[3] - p[2] for p in row)
        area = sum((p[1] - p[0]) * (p[3] - p[2]) for p in row)
        lines.append(Line(" ".join(p[4] for p in row), min(p[5] for p in row), y0 / h, height / h,
                          area / (w * h)))
    return lines


def _fit(im: Image.Image, edge: int) -> Image.Image:
    scale = edge / max(im.size)
    if scale >= 1:
        return im
    return im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.BILINEAR)


# --- features ---------------------------------------------------------------------------------

COLOUR_NAMES: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20), "dark grey": (70, 70, 70), "grey": (128, 128, 128), "light grey": (200, 200, 200),
    "white": (250, 250, 250), "red": (200, 30, 30), "dark red": (120, 20, 25), "pink": (240, 150, 180),
    "orange": (245, 140, 40), "brown": (110, 70, 40), "beige": (225, 205, 160), "yellow": (240, 215, 60),
    "olive": (120, 120, 40), "green": (50, 160, 60), "dark green": (30, 80, 40), "teal": (30, 130, 130),
    "light blue": (150, 195, 235), "blue": (40, 100, 210), "navy": (25, 35, 90), "purple": (120, 50, 160),
}


def colour_name(rgb: tuple[int, int, int]) -> str:
    """The nearest named colour (a weighted RGB distance close to how people see it)."""
    r, g, b = rgb

    def distance(ref: tuple[int, int, int]) -> float:
        mean_r = (r + ref[0]) / 2
        dr, dg, db = r - ref[0], g - ref[1], b - ref[2]
        return (2 + mean_r / 256) * dr * dr + 4 * dg * dg + (2 + (255 - mean_r) / 256) * db * db

    return min(COLOUR_NAMES, key=lambda name: distance(COLOUR_NAMES[name]))


@dataclass(frozen=True)
class Features:
    width: int
    height: int
    colours: list[tuple[str, float]]  # (name, share), largest first
    flatness: float  # share of neighbouring pixels that are exactly equal
    distinct_colours: int  # in a 160 px copy at 5 bits per channel


def features(im: Image.Image, width: int, height: int) -> Features:
    rgb = im.convert("RGB")
    step = max(1, max(rgb.size) // 480)  # sampled, not averaged: sensor noise must survive
    sampled = rgb.resize((max(1, rgb.width // step), max(1, rgb.height // step)), Image.Resampling.NEAREST)
    import numpy as np

    grid = np.asarray(sampled, dtype=np.int16)
    same = int(np.all(grid[:, 1:] == grid[:, :-1], axis=2).sum())
    pairs = grid.shape[0] * max(grid.shape[1] - 1, 1)
    small = _fit(rgb, 160)
    distinct = len({(r >> 3, g >> 3, b >> 3) for r, g, b in small.getdata()})
    quantised = small.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    shares: Counter[str] = Counter()
    total = small.width * small.height
    for count, index in quantised.getcolors() or []:
        rgb = tuple(palette[index * 3: index * 3 + 3])
        shares[colour_name(rgb)] += count / total
    colours = [(name, round(share, 3)) for name, share in shares.most_common() if share >= 0.04][:5]
    return Features(width, height, colours, same / pairs, distinct)


# --- EXIF -------------------------------------------------------------------------------------

def exif_facts(im: Image.Image) -> dict[str, Any]:
    """``taken_at`` (ISO), ``camera`` and ``gps`` ({lat, lon}) when the file carries them."""
    try:
        exif = im.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block is no EXIF
        return {}
    facts: dict[str, Any] = {}
    make, model = str(exif.get(0x010F) or "").strip(" \x00"), str(exif.get(0x0110) or "").strip(" \x00")
    if model:
        facts["camera"] = model if make and model.lower().startswith(make.split()[0].lower()) else f"{make} {model}".strip()
    try:
        sub = exif.get_ifd(0x8769)
        gps = exif.get_ifd(0x8825)
    except Exception:  # noqa: BLE001
        sub, gps = {}, {}
    when = sub.get(0x9003) or exif.get(0x0132)
    if when:
        try:
            facts["taken_at"] = datetime.strptime(str(when).strip(" \x00"), "%Y:%m:%d %H:%M:%S").isoformat()
        except ValueError:
            pass
    try:
        lat, lon = _degrees(gps[2], gps[1]), _degrees(gps[4], gps[3])
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            facts["gps"] = {"lat": round(lat, 5), "lon": round(lon, 5)}
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        pass
    return facts


def _degrees(dms: Any, ref: Any) -> float:
    d, m, s = (float(x) for x in dms)
    value = d + m / 60 + s / 3600
    return -value if str(ref).upper().startswith(("S", "W")) else value


# --- interpretation ---------------------------------------------------------------------------

_PHONE_RATIOS = (16 / 9, 2.0, 19.5 / 9, 2.164, 20 / 9)  # height / width of common phone screens
_CLOCK = re.compile(r"\d{1,2}[:.]\d{2}(\s?[AaPp][Mm])?")
_WORD = re.compile(r"[a-z0-9°$][a-z0-9°$.:'!/-]*")


def image_kind(f: Features, lines: list[Line], exif: dict[str, Any]) -> str:
    """photo, screenshot, document or illustration, from simple features."""
    coverage = sum(line.area for line in lines)
    ratio = max(f.width, f.height) / max(min(f.width, f.height), 1)
    phone_shaped = f.height > f.width and any(abs(ratio - r) < 0.03 for r in _PHONE_RATIOS)
    rendered = f.flatness > 0.45 and "camera" not in exif  # camera noise makes neighbours differ
    if rendered and (len(lines) >= 3 or (phone_shaped and lines)):
        return "screenshot"
    status_bar = any(line.top < 0.04 and _CLOCK.fullmatch(line.text.strip()) for line in lines)
    if status_bar and phone_shaped and "camera" not in exif:  # a phone screen showing a photo
        return "screenshot"
    if len(lines) >= 4 and coverage > 0.01:
        return "document"
    if rendered or (f.distinct_colours < 60 and "camera" not in exif):
        return "illustration"
    return "photo"


def _terms(text: str) -> list[str]:
    return _WORD.findall(text.lower())


_ENDINGS = ("", "s", "es", "ed", "ing", "'s")


def _matches(term: str, line: str, tokens: list[str]) -> bool:
    """A phrase or a term with punctuation anywhere in the line; a word as a whole token, or with a
    plural or verb ending when it has four letters or more ("ticket" finds "tickets")."""
    if " " in term or not term.isalpha():
        return term in line
    if len(term) >= 4:
        return any(t.rstrip(".:!,") in {term + e for e in _ENDINGS} for t in tokens)
    return term in tokens


def categorise(lines: list[Line]) -> list[tuple[str, str, float]]:
    """(category, subcategory, score), best first, from the lexicon's words in the text."""
    if not lines:
        return []
    tallest = max(line.height for line in lines)
    scores: Counter[tuple[str, str]] = Counter()
    for line in lines:
        lowered = line.text.lower()
        tokens = _terms(lowered)
        emphasis = 1.5 if line.height >= 0.8 * tallest else 1.0
        for category, subs in LEXICON.items():
            for sub, terms in subs.items():
                hits = sum(1 for term in terms if _matches(term, lowered, tokens))
                if hits:
                    scores[(category, sub)] += min(hits, 2) * emphasis * WEIGHT.get(category, 1.0)
    return [(c, s, v) for (c, s), v in scores.most_common()]


_JUNK = re.compile(r"^[\d\s:.,%$/+-]*$|^https?://|\.(com|org|net)\b")


def headline_of(lines: list[Line], limit: int = 12) -> str | None:
    """The most salient line(s): the tallest text that is words, not a clock or a URL."""
    candidates = [line for line in lines if len(re.sub(r"[^A-Za-z]", "", line.text)) >= 3
                  and not _JUNK.search(line.text.lower())]
    if not candidates:
        return None
    tallest = max(line.height for line in candidates)
    chosen = [line for line in candidates if line.height >= 0.85 * tallest][:2]  # in reading order
    words = " - ".join(line.text for line in chosen).split()
    return " ".join(words[:limit])


def platform_of(lines: list[Line]) -> str | None:
    """The first app or site named on screen (a whole-word, case-insensitive match)."""
    text = " ".join(line.text for line in lines).lower()
    for name in PLATFORMS:
        if re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", text):
            return name
    return None


def _month(iso: str) -> str:
    at = datetime.fromisoformat(iso)
    return f"{at.day} {at.strftime('%B %Y')}"


def describe(kind: str, f: Features, lines: list[Line] | None, exif: dict[str, Any]) -> dict[str, Any]:
    """The analysis (schema-valid) for an image's kind, features, text and EXIF."""
    lines = lines or []
    found = categorise(lines)
    colours = [name for name, _ in f.colours]
    colour_words = " and ".join(colours[:2]) if colours else "mixed"
    if found:
        category = found[0][0]
        subcategories: list[str] = []
        for cat, sub, _ in found[:5]:
            for word in (sub, cat):
                if word != category and word not in subcategories:
                    subcategories.append(word)
    else:
        category = {"screenshot": "screenshot", "document": "document"}.get(kind, "photo" if kind == "photo" else "image")
        subcategories = []
    themes: list[str] = []
    for _, sub, _ in found[:3]:
        themes.extend(t for t in RELATED.get(sub, ()) if t not in themes)
    platform = platform_of(lines)
    if platform:
        themes.insert(0, platform)
    if kind == "photo":  # the words people use for one, and what it was taken with
        themes.extend(t for t in ("photo", "picture", "camera" if exif.get("camera") else "") if t)
        if colours:
            themes.append(f"{colours[0]} tones")
    text = "\n".join(line.text for line in lines)
    headline = headline_of(lines)
    camera, taken, gps = exif.get("camera"), exif.get("taken_at"), exif.get("gps")
    if not headline:
        headline = f"{colour_words.capitalize()} {kind}"
        if taken:
            headline += f" taken {_month(taken)}"
    sentences = [f"A {colour_words} {kind}" + (f", filed under {category}" if found else "") +
                 (f" ({', '.join(subcategories[:3])})" if subcategories else "") + "."]
    if lines:
        quoted = "; ".join(line.text for line in lines[:4])
        sentences.append(f"It reads: {quoted[:300]}.")
    elif kind != "photo":
        sentences.append("No legible text.")
    if taken or camera:
        sentences.append("Taken" + (f" on {_month(taken)}" if taken else "") + (f" with {camera}" if camera else "")
                         + (f" at {gps['lat']:.4f}, {gps['lon']:.4f}" if gps else "") + ".")
    objects = [s for _, s, _ in found[:3]] or ([kind] if kind != "photo" else [])
    return {
        "category": category,
        "subcategories": subcategories[:6],
        "headline": headline[:300],
        "summary": " ".join(sentences)[:4000],
        "image_details": {"extracted_text": text[:20000], "objects": objects[:10], "themes": themes[:10]},
        "media_metadata": {
            "image_type": kind,
            "dominant_colors": colours[:5],
            "location": f"{gps['lat']:.5f}, {gps['lon']:.5f}" if gps else None,
            "platform": platform,
            "width": f.width,
            "height": f.height,
            "taken_at": taken,
            "camera": camera,
            "gps": gps,
            "text_lines": len(lines),
        },
    }


def analyze_image(data: bytes) -> tuple[dict[str, Any], bool]:
    """The analysis of an image file's bytes and whether OCR was used; raises
    :class:`ProviderOutputError` for bytes that are not a readable image."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise ProviderOutputError(f"image has {width}x{height} pixels; too large to analyse")
            exif = exif_facts(opened)
            orientation = opened.getexif().get(0x0112, 1)
            if opened.format in {"JPEG", "MPO"}:
                opened.draft("RGB", (REC_EDGE, REC_EDGE))  # decode at 1/2, 1/4... when that is enough
            im = _flatten(opened)
    except ProviderOutputError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ProviderOutputError(f"the image cannot be read: {exc}") from None
    transpose = _TRANSPOSES.get(orientation)
    if transpose is not None:
        im = im.transpose(transpose)
        if orientation >= 5:
            width, height = height, width  # the picture is stored on its side
    lines = read_text(im)
    f = features(im, width, height)
    return describe(image_kind(f, lines or [], exif), f, lines, exif), lines is not None


def _flatten(im: Image.Image) -> Image.Image:
    """RGB; transparent areas white, as a viewer shows them (not the black under the alpha)."""
    if im.mode in {"RGBA", "LA", "PA"} or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        base = Image.new("RGB", rgba.size, (255, 255, 255))
        base.paste(rgba, mask=rgba.getchannel("A"))
        return base
    return im.convert("RGB")


class OfflineVision:
    """Image analysis answered on this machine (``provider_used = "offline"``)."""

    def __init__(self) -> None:
        global _engine_error
        reason = ocr_status()
        if reason and _engine_error is None:  # said once per process; no import is tried later
            _engine_error = reason
            log.warning("offline vision: %s; images are analysed from their features only", reason)

    @property
    def model(self) -> str:
        return MODEL if ocr_status() is None else MODEL_NO_OCR

    def analyze(self, image: ImageInput, schema: dict[str, Any] | None = None) -> JsonResult:
        data, _ = normalize_image(image)
        analysis, used_ocr = analyze_image(data)
        if schema is not None:
            validate(analysis, schema)
        return JsonResult(data=analysis, provider_used=OFFLINE, model_used=MODEL if used_ocr else MODEL_NO_OCR,
                          usage={"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 0})
