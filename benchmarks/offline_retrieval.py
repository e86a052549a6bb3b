"""Retrieval quality with offline providers alone, end to end: each image of
:mod:`benchmarks.offline_images` is uploaded through the API (POST /items, presigned PUT) of the
local stage with no API keys, the local runtime delivers the real handlers (thumbnail, the
offline analyzer reading the image, the offline embedder), and every labelled query goes through
``POST /search`` in each mode. Prints MRR, P@1, recall@5 and NDCG@5 over the queries that have
an answer, per mode and per kind of target image, and for the no-answer queries how often the
mode returned nothing at all.

    .venv/bin/python benchmarks/bench_retrieval_quality.py --offline
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks._support import embedded_database, local_stage
from benchmarks.offline_images import QUERIES, SCENES, render
from benchmarks.retrieval_metrics import summarize

ROOT = Path(__file__).resolve().parent.parent
MODES = ("keyword", "vector", "hybrid")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def ingest(client: Any, runtime: Any, headers: dict[str, str]) -> tuple[dict[str, str], dict[str, Any], float]:
    """Upload every scene and let the pipeline run; (item id -> scene id, scene id -> item, seconds)."""
    ids: dict[str, str] = {}
    for scene in SCENES:
        data, filename, content_type = render(scene)
        created = client.http.post("/items", headers=headers,
                                   body=json.dumps({"filename": filename, "content_type": content_type}))
        assert created.status_code == 201, created.body
        upload = created.json_body["upload"]
        put = client.http.put(_path(upload["url"]), headers=upload["headers"], body=data)
        assert put.status_code == 200, put.body
        ids[created.json_body["item_id"]] = scene.id
    started = time.perf_counter()
    while runtime.drain(timeout=30):
        pass
    elapsed = time.perf_counter() - started
    items = {}
    for item_id, scene_id in ids.items():
        item = client.http.get(f"/items/{item_id}", headers=headers).json_body
        assert item["status"] == "ready", (scene_id, item.get("status"), item.get("error"))
        items[scene_id] = item
    return ids, items, elapsed


def run() -> None:
    import os

    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the figures, not one log line per request
    local_stage(embedded_database("bench_offline_quality"))
    from chalice.test import Client

    from app import app
    from chalicelib import auth, wiring

    wiring.set_app(app)
    runtime = wiring.local_runtime()
    user = f"offline-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {auth.mint_token(user)}", "Content-Type": "application/json"}
    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        ids, items, elapsed = ingest(client, runtime, headers)
        kinds = {s.id: s.kind for s in SCENES}
        analysis = {sid: item["latest_analysis"] for sid, item in items.items()}
        providers = Counter(f"{a['provider_used']}/{a['model_used']}" for a in analysis.values())
        kind_right = sum(a["analysis"]["media_metadata"]["image_type"] == kinds[sid] for sid, a in analysis.items())
        runs: dict[str, list] = {m: [] for m in MODES}
        by_kind: dict[tuple[str, str], list] = {}
        empty: Counter[str] = Counter()
        for query, relevant in QUERIES.items():
            for mode in MODES:
                response = client.http.post("/search", headers=headers,
                                            body=json.dumps({"query": query, "mode": mode, "top_k": 10}))
                assert response.status_code == 200, response.body
                ranked = [ids[r["item_id"]] for r in response.json_body["results"]]
                if not relevant:
                    empty[mode] += not ranked
                    continue
                runs[mode].append((ranked, relevant))
                kind = "/".join(sorted({kinds[r] for r in relevant}))
                by_kind.setdefault((mode, kind), []).append((ranked, relevant))
    answered = sum(1 for r in QUERIES.values() if r)
    print(f"{len(SCENES)} images ({', '.join(f'{n} {k}' for k, n in Counter(kinds.values()).items())}), "
          f"{answered} queries with an answer + {len(QUERIES) - answered} without")
    print(f"pipeline: {elapsed:.1f} s for {len(SCENES)} uploads ({elapsed / len(SCENES):.2f} s each, "
          f"thumbnail + analysis + embedding); analysis by {', '.join(providers)}; "
          f"image kind right for {kind_right}/{len(SCENES)}")
    print(f"{'mode':10}{'MRR':>8}{'P@1':>8}{'recall@5':>10}{'NDCG@5':>9}{'no-answer empty':>17}")
    for mode in MODES:
        m = summarize(runs[mode])
        print(f"{mode:10}{m['MRR']:>8.3f}{m['P@1']:>8.3f}{m['recall@5']:>10.3f}{m['NDCG@5']:>9.3f}"
              f"{empty[mode]:>12}/{len(QUERIES) - answered}")
    for mode in ("keyword", "hybrid"):
        missed = [f"{q!r} (rank {next((i for i, r in enumerate(ranked, 1) if r in rel), '-')})"
                  for q, (ranked, rel) in zip([q for q, r in QUERIES.items() if r], runs[mode], strict=True)
                  if not ranked or ranked[0] not in rel]
        print(f"{mode} queries not answered first: {', '.join(missed) or 'none'}")
    print("per kind of target (MRR):")
    for (mode, kind), kind_runs in sorted(by_kind.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"  {kind:24}{mode:9}{summarize(kind_runs)['MRR']:>7.3f}  ({len(kind_runs)} queries)")
