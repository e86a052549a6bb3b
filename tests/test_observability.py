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
    assert metrics["Dimensions"] == [["handler"], ["kind"]]  # per route, and every route together
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


def test_a_route_s_500_is_an_error_of_the_api_as_a_whole(client, user, capsys, monkeypatch) -> None:  # noqa: ANN001
    """Chalice answers a failing route with a 500 and the Lambda invocation succeeds, so only
    this line can tell the API's error-rate alarm: its Errors are also recorded per kind=http."""
    from chalicelib.collections import api

    def broken(*_args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(api, "list_items", broken)
    capsys.readouterr()
    response = client.http.get("/items", headers=auth_headers(user))
    assert response.status_code == 500
    (line,) = lines(capsys)
    assert line["outcome"] == "error" and line["Errors"] == 1 and line["kind"] == "http"
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["handler"], ["kind"]]


def test_non_http_lines_are_recorded_per_handler_only(client, capsys) -> None:  # noqa: ANN001
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                           resources=[])
    capsys.readouterr()
    client.lambda_.invoke("task_sweeper", event)
    (line,) = lines(capsys)
    assert line["kind"] == "schedule"
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["handler"]]
