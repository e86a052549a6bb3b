"""One structured JSON (EMF) line per handler invocation, for every kind of handler."""

from __future__ import annotations

import json

from tests.conftest import auth_headers


def all_lines(capsys) -> list[dict]:  # noqa: ANN001
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"invocation"' in line]


def lines(capsys) -> list[dict]:  # noqa: ANN001
    """The handlers' lines, without the authorizer's (tested on its own below)."""
    return [line for line in all_lines(capsys) if line["kind"] != "authorizer"]


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
    from chalicelib.collections.service import CollectionsService

    def broken(*_args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(CollectionsService, "list_items", broken)
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


def test_the_authorizer_writes_its_own_line_accepted_or_rejected(client, user, capsys) -> None:  # noqa: ANN001
    """Chalice runs no middleware for a built-in authorizer; a 401 still leaves a line."""
    from tests.conftest import make_token

    capsys.readouterr()
    client.http.get("/me", headers=auth_headers(user))
    authorizer, route = all_lines(capsys)
    assert authorizer["kind"] == "authorizer" and authorizer["handler"] == "jwt_auth"
    assert authorizer["user_id"] == user and authorizer["outcome"] == "ok" and authorizer["duration_ms"] >= 0
    assert authorizer["request_id"] and authorizer["Invocations"] == 1 and authorizer["Errors"] == 0
    assert route["handler"] == "GET /me"

    # No Authorization header at all: API Gateway answers 401 without invoking the authorizer
    # (chalice local does the same), so there is nothing of ours to log.
    assert client.http.get("/tasks").status_code == 401
    assert all_lines(capsys) == []
    expired = make_token(user, ttl=-60)
    for headers in ({"Authorization": "Bearer not-a-jwt"}, {"Authorization": f"Bearer {expired}"}):
        assert client.http.get("/tasks", headers=headers).status_code == 401
        (line,) = all_lines(capsys)  # the route never ran: the authorizer's line is the only one
        assert line["kind"] == "authorizer" and line["outcome"] == "rejected" and line["reason"]
        assert line["user_id"] is None and line["Errors"] == 0 and line["trace_id"]
    assert expired not in capsys.readouterr().out


def test_the_worker_line_names_the_task_owner(client, user, runtime, capsys) -> None:  # noqa: ANN001
    created = client.http.post("/tasks", headers=auth_headers(user), body=b'{"description": "paint a fence"}')
    assert created.status_code == 202
    capsys.readouterr()
    runtime.drain()
    (worker,) = [line for line in lines(capsys) if line["kind"] == "invoke"]
    assert worker["handler"] == "task_worker" and worker["user_id"] == user and worker["outcome"] == "ok"
