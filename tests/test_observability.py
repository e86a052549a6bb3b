"""One structured JSON (EMF) line per handler invocation, for every kind of handler."""

from __future__ import annotations

import json

from tests.conftest import auth_headers


def lines(capsys) -> list[dict]:  # noqa: ANN001
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"invocation"' in line]


def test_http_invocation_line_has_handler_user_outcome_duration_and_emf(client, user, capsys) -> None:  # noqa: ANN001
    capsys.readouterr()
    client.http.get("/me", headers=auth_headers(user))
    (line,) = lines(capsys)
    assert line["kind"] == "http" and line["handler"] == "GET /me"
    assert line["user_id"] == user and line["outcome"] == "ok" and line["status"] == 200
    assert line["duration_ms"] >= 0 and line["request_id"]
    metrics = line["_aws"]["CloudWatchMetrics"][0]
    assert metrics["Dimensions"] == [["handler"]]
    assert {m["Name"] for m in metrics["Metrics"]} == {"Invocations", "Errors", "Duration"}
    assert line["Invocations"] == 1 and line["Errors"] == 0


def test_rejected_requests_are_not_errors(client, user, capsys) -> None:  # noqa: ANN001
    capsys.readouterr()
    client.http.post("/items", headers=auth_headers(user), body=b"{not json")
    (line,) = lines(capsys)
    assert line["outcome"] == "rejected" and line["status"] == 400 and line["Errors"] == 0


def test_event_handlers_emit_one_line_each(client, capsys) -> None:  # noqa: ANN001
    from app import app

    capsys.readouterr()
    event = client.events.generate_cw_event(
        source="collections.analyzer", detail_type="AnalysisComplete",
        detail={"item_id": "missing", "analysis_id": "missing", "user_id": "u-1"}, resources=[])
    name = next(n for n, f in app.handler_map.items() if "embed" in n.lower())
    try:
        client.lambda_.invoke(name, event)
    except Exception:  # noqa: BLE001 - the outcome is what we check, not the handler's verdict
        pass
    (line,) = lines(capsys)
    assert line["kind"] == "event" and line["user_id"] == "u-1"
    assert line["outcome"] in {"ok", "error"} and "Duration" in line


def test_no_secret_or_token_reaches_the_log(client, user, capsys, monkeypatch) -> None:  # noqa: ANN001
    secret_key = "sk-ant-SECRET-VALUE-123"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret_key)
    headers = auth_headers(user)
    capsys.readouterr()
    client.http.get("/me", headers=headers)
    client.http.get("/health")
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert secret_key not in text
    assert headers["Authorization"].split()[1] not in text
