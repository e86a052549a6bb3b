"""Thumbnail of a 4000x3000 photo-like JPEG: our path vs Pillow's default ``thumbnail()``.

Each path runs in fresh subprocesses: wall time (median of several runs), extra peak RSS over
the process's state just before thumbnailing (VmHWM from /proc, Linux; Pillow allocates
outside tracemalloc's view), and PSNR against a LANCZOS resize of the full decode, of the resized
pixels (the resampling quality) and of the written files (same JPEG encoder for both). Run: /work/main/.venv/bin/python benchmarks/bench_thumbnail.py
"""

from __future__ import annotations

import io
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNS = 7
SIZE = (4000, 3000)

CHILD = r"""
import io, json, sys, time
sys.path.insert(0, sys.argv[3])
from PIL import Image
from chalicelib.collections.thumbnails import make_thumbnail
def high_water_kib():
    # VmHWM: this process's peak RSS; unlike ru_maxrss it is not inherited across exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
data = open(sys.argv[2], "rb").read()
before = high_water_kib()
started = time.perf_counter()
if sys.argv[1] == "ours":
    out = make_thumbnail(data, ".jpg").data
else:
    im = Image.open(io.BytesIO(data))
    im.thumbnail((800, 800))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    out = buf.getvalue()
elapsed = time.perf_counter() - started
after = high_water_kib()
sys.stdout.buffer.write(json.dumps({"seconds": elapsed, "peak_kib": after - before}).encode() + b"\n" + out)
"""


def photo_like_jpeg(size: tuple[int, int] = SIZE) -> bytes:
    """Gradients, a fractal, soft noise and hard edges: textures a photo has, not flat color."""
    from PIL import Image, ImageDraw, ImageFilter

    w, h = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = Image.effect_mandelbrot(size, (-2.2, -1.2, 1.0, 1.2), 60)
    base = Image.merge("RGB", (red, green, blue))
    noise = Image.effect_noise((w // 4, h // 4), 40).resize(size, Image.Resampling.BICUBIC)
    base = Image.blend(base, Image.merge("RGB", (noise, noise, noise)), 0.25)
    draw = ImageDraw.Draw(base)
    for i in range(60):
        x, y = (i * 997) % w, (i * 613) % h
        draw.ellipse((x, y, x + 120 + i * 7, y + 90 + i * 5), outline=(255 - i * 4, i * 4, 128), width=6)
        draw.line((0, y, w, (y + i * 37) % h), fill=(i * 4, 200, 255 - i * 4), width=3)
    base = base.filter(ImageFilter.GaussianBlur(1.5))
    buffer = io.BytesIO()
    base.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def psnr(a, b) -> float:  # noqa: ANN001 - PIL images
    from PIL import ImageChops, ImageStat

    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(value * value for value in ImageStat.Stat(diff).rms) / 3
    return float("inf") if mse == 0 else 20 * math.log10(255 / math.sqrt(mse))


def run(path: str, which: str) -> tuple[dict, bytes]:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, which, path, str(ROOT)], capture_output=True, check=True
    )
    header, _, image = completed.stdout.partition(b"\n")
    return json.loads(header), image


def main() -> None:
    from PIL import Image

    data = photo_like_jpeg()
    with tempfile.NamedTemporaryFile(suffix=".jpg") as handle:
        handle.write(data)
        handle.flush()
        results: dict[str, dict] = {}
        for which in ("ours", "pillow"):
            runs = [run(handle.name, which) for _ in range(RUNS)]
            output = Image.open(io.BytesIO(runs[0][1]))
            results[which] = {
                "ms": statistics.median(r[0]["seconds"] for r in runs) * 1000,
                "peak_mib": statistics.median(r[0]["peak_kib"] for r in runs) / 1024,
                "image": output,
            }
    from chalicelib.collections.thumbnails import render_thumbnail

    full = Image.open(io.BytesIO(data))
    full.load()
    size = results["ours"]["image"].size
    reference = full.resize(size, Image.Resampling.LANCZOS)
    pillow_pixels = Image.open(io.BytesIO(data))
    pillow_pixels.thumbnail((800, 800))
    pixels = {"ours": render_thumbnail(data, ".jpg")[0], "pillow": pillow_pixels}
    for which, result in results.items():
        assert result["image"].size == size, (result["image"].size, size)
        result["psnr"] = psnr(pixels[which], reference)
        result["psnr_file"] = psnr(result["image"], reference)
    ours, pillow = results["ours"], results["pillow"]
    print(f"thumbnail of a {SIZE[0]}x{SIZE[1]} photo-like JPEG ({len(data) / 1e6:.1f} MB) -> "
          f"{size[0]}x{size[1]}, median of {RUNS} runs, each in a fresh process")
    print(f"{'':24}{'ours':>12}{'Pillow thumbnail()':>22}{'ratio':>10}")
    print(f"{'time (ms)':24}{ours['ms']:>12.1f}{pillow['ms']:>22.1f}"
          f"{pillow['ms'] / ours['ms']:>9.2f}x faster")
    print(f"{'extra peak RSS (MiB)':24}{ours['peak_mib']:>12.1f}{pillow['peak_mib']:>22.1f}"
          f"{ours['peak_mib'] / max(pillow['peak_mib'], 0.01):>9.2f}x")
    print(f"{'PSNR vs LANCZOS (dB)':24}{ours['psnr']:>12.1f}{pillow['psnr']:>22.1f}"
          "   (resized pixels)")
    print(f"{'  after JPEG q85 (dB)':24}{ours['psnr_file']:>12.1f}{pillow['psnr_file']:>22.1f}"
          "   (the files written; same encoder)")


if __name__ == "__main__":
    main()
