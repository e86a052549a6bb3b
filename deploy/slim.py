"""Slim the dependency zip Chalice caches in ``.chalice/deployments/`` before ``chalice deploy``
reuses it: drop what no code path imports and what Lambda never reads.

Chalice names that zip after an md5 of requirements.txt and the app's files and reuses it while
they are unchanged, so the zip rewritten in place is what ``chalice deploy`` uploads next.
A ``chalice-slim.json`` entry in the zip records what was removed (and marks it done).
tests/deploy imports the app and every SDK from the slimmed zip alone to prove it still works.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARKER = "chalice-slim.json"

#: Installed only as other packages' optional extras; nothing we run imports them.
#: zstandard (langsmith compression), hf_xet (huggingface downloads), tokenizers (voyageai
#: token counting; we only call embed).
UNUSED_PACKAGES = ("zstandard", "hf_xet", "tokenizers")

#: botocore service models we keep when boto3 is packaged (requirements.txt leaves it to Lambda's
#: runtime; an operator may pin it): the services the code calls (deploy/stack.AWS_CALLS) and
#: the credential providers. Every other service's model is dead weight (18 MB).
BOTOCORE_SERVICES = ("s3", "events", "dynamodb", "lambda", "ssm", "bedrock-agentcore", "bedrock-runtime", "ses",
                     "sts", "sso", "sso-oidc")

_PATTERNS = (
    re.compile(r"^[^/]+/(?:.*/)?tests?/"),  # test suites shipped inside packages
    re.compile(r"\.pyi$"),  # type stubs
    re.compile(r"^numpy/(f2py|distutils|_pyinstaller)/"),  # build tooling
)


def cache_zip(python_version: str = "python3.11") -> Path:
    """The package Chalice built last (run ``chalice package`` or ``deploy`` first)."""
    built = sorted((ROOT / ".chalice" / "deployments").glob(f"[0-9a-f]*-{python_version}.zip"),
                   key=lambda p: p.stat().st_mtime)
    if not built:
        raise FileNotFoundError("no package in .chalice/deployments: run chalice package first")
    return built[-1]


def dropped(name: str) -> bool:
    """True when ``name`` (a path inside the zip) is not needed in Lambda."""
    top = name.split("/", 1)[0]
    package = re.sub(r"-[^-]+\.dist-info$", "", top)
    if top in UNUSED_PACKAGES or package in UNUSED_PACKAGES or top.removesuffix(".libs") in UNUSED_PACKAGES:
        return True
    if name.startswith("botocore/data/"):
        parts = name.split("/")
        return len(parts) > 3 and parts[2] not in BOTOCORE_SERVICES
    return any(p.search(name) for p in _PATTERNS)


def _is_shared_object(name: str) -> bool:
    """An extension module to strip. The libraries auditwheel vendors into ``<pkg>.libs/`` were
    rewritten by patchelf, and stripping those corrupts them (not page-aligned): left alone."""
    top = name.split("/", 1)[0]
    return not top.endswith(".libs") and (name.endswith(".so") or ".so." in name.rsplit("/", 1)[-1])


def _stripped(src: zipfile.ZipFile, infos: list[zipfile.ZipInfo], workdir: Path) -> dict[str, bytes]:
    """Shared objects without their symbol tables (``strip --strip-unneeded``: what the dynamic
    loader needs stays). Empty when binutils' strip is not installed."""
    strip = shutil.which("strip")
    objects = [i for i in infos if _is_shared_object(i.filename)]
    if not strip or not objects:
        return {}
    paths = []
    for n, info in enumerate(objects):
        target = workdir / f"{n}.so"
        target.write_bytes(src.read(info))
        paths.append(target)
    subprocess.run([strip, "--strip-unneeded", *map(str, paths)], check=True, capture_output=True)
    return {info.filename: path.read_bytes() for info, path in zip(objects, paths, strict=True)}


def slim(path: Path) -> dict[str, Any]:
    """Rewrite ``path`` without the dropped entries; idempotent. Returns what it did (sizes in
    bytes, the top-level entries it touched), as recorded in the zip's ``chalice-slim.json``."""
    with zipfile.ZipFile(path) as src:
        if MARKER in src.namelist():
            return json.loads(src.read(MARKER))
        infos = src.infolist()
        keep = [i for i in infos if not dropped(i.filename)]
        removed = sorted({i.filename.split("/", 1)[0] for i in infos if dropped(i.filename)})
        summary: dict[str, Any] = {
            "unzipped_before": sum(i.file_size for i in infos),
            "unzipped_after": sum(i.file_size for i in keep),
            "entries_removed": len(infos) - len(keep),
        }
        tmp = path.with_suffix(".slim.tmp")
        with tempfile.TemporaryDirectory() as workdir, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            stripped = _stripped(src, keep, Path(workdir))
            after = 0
            for info in keep:
                data = stripped.get(info.filename) or src.read(info)
                after += len(data)
                dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
            summary["unzipped_after"] = after
            summary["shared_objects_stripped"] = len(stripped)
            summary["touched"] = removed
            dst.writestr(MARKER, json.dumps(summary, indent=1))
    tmp.replace(path)
    return summary
