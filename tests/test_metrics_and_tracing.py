"""Issue 8: every handler emits its EMF metrics, run metrics of the schedules, pipeline stage
times, tasks by status; one trace id from an upload to its analysis row and embedding; the local
metrics file summed by ``make metrics``. Everything runs on the offline providers (no fakes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from chalicelib import wiring
from chalicelib.tracing import parse
from localdev import metrics as local_metrics
from tests.collections import images
from tests.collections.conftest import get_item, upload
from tests.conftest import auth_headers


def emf_lines(capsys) -> list[dict]:  # noqa: ANN001
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]


def metric_names(line: dict) -> set[str]:
    return {m["Name"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def dimensions(line: dict) -> list[list[str]]:
    return line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]


def scheduled(client) -> dict:  # noqa: ANN001
    return client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                           detail={}, resources=[])


def test_http_lines_carry_a_trace_id_returned_to_the_caller(client, user, capsys) -> None:  # noqa: ANN001
    capsys.readouterr()
    response = client.http.get("/me", headers=auth_headers(user))
    (line,) = [x for x in emf_lines(capsys) if x["msg"] == "invocation" and x["kind"] == "http"]
    assert parse(line["trace_id"]) == line["trace_id"]
    assert response.headers["X-Trace-Id"] == line["trace_id"]

    incoming = "1-5f000000-0123456789abcdef01234567"
    response = client.http.get("/me", headers={**auth_headers(user),
                                               "X-Amzn-Trace-Id": f"Root={incoming};Parent=53995c3f42cd8ad8;Sampled=1"})
    (line,) = [x for x in emf_lines(capsys) if x["msg"] == "invocation" and x["kind"] == "http"]
    assert line["trace_id"] == incoming and response.headers["X-Trace-Id"] == incoming


def test_a_forged_trace_header_never_reaches_the_log(client, user, capsys) -> None:  # noqa: ANN001
    capsys.readouterr()
    client.http.get("/me", headers={**auth_headers(user), "X-Amzn-Trace-Id": 'Root=x"}\n{"level":"ERROR'})
    (line,) = [x for x in emf_lines(capsys) if x["msg"] == "invocation" and x["kind"] == "http"]
    assert parse(line["trace_id"]) == line["trace_id"] and "ERROR" not in line["trace_id"]


def test_page_generator_and_detector_runs_emit_their_counts(client, runtime, user, capsys) -> None:  # noqa: ANN001
    from chalicelib.pages.repository import PagesRepository

    repository = PagesRepository(wiring.pages_engine())
    for page_type in ("dashboard", "reports"):
        assert repository.enqueue(user, page_type, 0.9, {"kind": "test"})
    capsys.readouterr()
    runtime.fire("page_generator")  # a Lambda-like context with minutes left (chalice.test gives 3 s)
    runtime.drain()
    lines = emf_lines(capsys)
    (run,) = [x for x in lines if x["msg"] == "page generator run"]
    assert metric_names(run) == {"JobsProcessed", "PagesGenerated", "GenerationErrors"}
    assert dimensions(run) == [["handler"]] and run["handler"] == "page_generator"
    assert run["PagesGenerated"] >= 2 and run["JobsProcessed"] == run["PagesGenerated"] + run["GenerationErrors"]
    assert {p["page_type"] for p in client.http.get("/pages", headers=auth_headers(user)).json_body["pages"]} == {
        "dashboard", "reports"}
    (invocation,) = [x for x in lines if x["msg"] == "invocation"]
    assert invocation["handler"] == "page_generator" and invocation["kind"] == "schedule"
    assert invocation["trace_id"] == run["trace_id"]

    client.lambda_.invoke("pattern_detector", scheduled(client))
    (detector_run,) = [x for x in emf_lines(capsys) if x["msg"] == "pattern detector run"]
    assert {"PredictionsQueued", "UsersScanned"} <= metric_names(detector_run)


def test_task_sweeper_reports_stuck_tasks_and_tasks_by_status(client, user, capsys, monkeypatch) -> None:  # noqa: ANN001
    from chalicelib import settings

    settings.reset()
    created = client.http.post("/tasks", headers=auth_headers(user), body=json.dumps({"description": "quotes"}))
    assert created.status_code == 202
    store = wiring.task_store()
    task = store.get(created.json_body["id"])
    # Make it overdue without sleeping: rewrite created_at one hour back.
    from chalicelib.tasks.sql_store import tasks as tasks_table

    older = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with wiring.engine().begin() as conn:
        conn.execute(tasks_table.update().where(tasks_table.c.id == task.id).values(created_at=older))
    capsys.readouterr()
    result = client.lambda_.invoke("task_sweeper", scheduled(client)).payload
    lines = emf_lines(capsys)
    (run,) = [x for x in lines if x["msg"] == "task sweeper run"]
    assert run["TasksStuck"] == result["expired"] >= 1 and run["TasksReinvoked"] == result["reinvoked"]
    by_status = {x["status"]: x["Tasks"] for x in lines if x["msg"] == "tasks by status"}
    assert set(by_status) == {"pending", "processing", "completed", "error"}
    assert by_status == result["by_status"] and by_status["error"] >= 1
    assert store.get(task.id).status == "error"


def test_async_worker_continues_the_request_trace(client, runtime, user, capsys) -> None:  # noqa: ANN001
    capsys.readouterr()
    created = client.http.post("/tasks", headers=auth_headers(user), body=json.dumps({"description": "quotes"}))
    trace_id = created.headers["X-Trace-Id"]
    (delivery,) = [d for d in runtime.queue.list(limit=1000)
                   if d.target == "task_worker" and d.payload.get("task_id") == created.json_body["id"]]
    assert delivery.payload["trace_id"] == trace_id
    runtime.drain()
    worker_lines = [x for x in emf_lines(capsys) if x["msg"] == "invocation" and x["handler"] == "task_worker"]
    assert [x["trace_id"] for x in worker_lines] == [trace_id]
    assert worker_lines[0]["kind"] == "invoke" and worker_lines[0]["outcome"] == "ok"


def test_one_trace_from_upload_to_ready_with_stage_times(client, runtime, user, capsys) -> None:  # noqa: ANN001
    from chalicelib.collections.tables import analyses

    item_id = upload(client, user, images.jpeg((1200, 800), "green"))
    capsys.readouterr()
    runtime.drain()
    assert get_item(client, user, item_id).json_body["status"] == "ready"
    lines = emf_lines(capsys)
    stages = {x["stage"]: x for x in lines if x["msg"] == "pipeline stage" and x.get("item_id") == item_id}
    assert set(stages) == {"thumbnail", "analysis", "ready"}
    for line in stages.values():
        assert dimensions(line) == [["stage"]] and line["StageFailures"] == 0
        assert 0 <= line["StageSeconds"] < 60
    assert stages["thumbnail"]["StageSeconds"] <= stages["analysis"]["StageSeconds"] <= stages["ready"]["StageSeconds"]
    trace_ids = {line["trace_id"] for line in stages.values()}
    assert len(trace_ids) == 1
    (trace_id,) = trace_ids
    handlers = {x["handler"] for x in lines if x["msg"] == "invocation" and x["trace_id"] == trace_id}
    assert {"collections_image_processor", "collections_analyzer", "collections_embedder"} <= handlers
    with wiring.engine().connect() as conn:
        stored = conn.execute(select(analyses.c.trace_id).where(analyses.c.item_id == item_id)).scalar_one()
    assert stored == trace_id


def test_make_metrics_sums_the_local_file(client, user, local_env, capsys) -> None:  # noqa: ANN001
    for _ in range(3):
        client.http.get("/me", headers=auth_headers(user))
    client.http.post("/tasks", headers=auth_headers(user), body=b"{not json")
    path = local_env / "metrics.jsonl"
    assert path.exists()
    capsys.readouterr()
    assert local_metrics.main(["--json", "--file", str(path)]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    me = {r["metric"]: r for r in rows if r["dimensions"] == {"handler": "GET /me"}}
    assert me["Invocations"]["sum"] == 3 and me["Errors"]["sum"] == 0
    assert me["Duration"]["count"] == 3 and me["Duration"]["p50"] <= me["Duration"]["p99"] <= me["Duration"]["max"]
    rejected = {r["metric"]: r for r in rows if r["dimensions"] == {"handler": "POST /tasks"}}
    assert rejected["Invocations"]["sum"] == 1 and rejected["Errors"]["sum"] == 0

    assert local_metrics.main(["--file", str(path)]) == 0
    table = capsys.readouterr().out
    assert "handler=GET /me" in table and "Duration" in table

    future = local_metrics.aggregate(local_metrics.read_lines(path), since_ms=2**62)
    assert future == []


def test_metric_series_percentiles() -> None:
    series = local_metrics.Series("Duration", (("handler", "x"),), "Milliseconds", [float(v) for v in range(1, 101)])
    summary = series.summary()
    assert summary["p50"] == 50 and summary["p99"] == 99 and summary["max"] == 100 and summary["sum"] == 5050

