"""Every log record as one JSON line (chalicelib/logs.py), in Lambda and locally."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator

import pytest

from chalicelib import logs, tracing


@pytest.fixture(autouse=True)
def _keep_the_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """configure() records the format it chose; the tests after these get the one they had."""
    monkeypatch.setattr(logs, "_format", logs._format)


@pytest.fixture(autouse=True)
def _no_trace_from_earlier_tests() -> Iterator[None]:
    """Start with no current trace id: a test before these may have left one in this thread's
    context (``tracing.current`` keeps the id it made), and these read it from the environment."""
    token = tracing._current.set(None)
    yield
    tracing._current.reset(token)


@contextlib.contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger with pytest's capture handlers set aside (pytest adds them per phase, so
    this runs inside the test body)."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers = []
    try:
        yield root
    finally:
        root.handlers, root.level = saved, level


def test_a_record_is_one_json_line_with_trace_extras_and_the_traceback() -> None:
    with bare_root() as root:
        lines = _log_a_few(root)
    first, second, third = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "app.http"
    assert first["msg"] == "create_item: dependency unavailable"
    assert first["trace_id"] == "1-6b100000-0123456789abcdef01234567"
    assert first["handler"] == "POST /items" and first["attempt"] == 2 and first["time"].endswith("Z")
    assert second["level"] == "ERROR" and "RuntimeError: boom\nsecond line" in second["exception"]
    assert "trace_id" not in third  # nothing bound, and no Lambda trace: no invented id


def _log_a_few(bare_root: logging.Logger) -> list[str]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    bare_root.addHandler(handler)
    bare_root.setLevel(logging.INFO)
    token = tracing.bind("1-6b100000-0123456789abcdef01234567")
    try:
        logging.getLogger("app.http").warning("create_item: %s", "dependency unavailable",
                                               extra={"handler": "POST /items", "attempt": 2})
        try:
            raise RuntimeError("boom\nsecond line")
        except RuntimeError:
            logging.getLogger("chalicelib.tasks").exception("task %s: agent failed", "t-1")
    finally:
        tracing.unbind(token)
    logging.getLogger("local.serve").info("outside any invocation")
    return stream.getvalue().splitlines()


def test_in_lambda_the_runtime_handler_keeps_its_place_and_speaks_json(monkeypatch) -> None:  # noqa: ANN001
    stream = io.StringIO()
    runtime_handler = logging.StreamHandler(stream)  # stands for the Lambda runtime's root handler
    runtime_handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(message)s"))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ai-backend-dev")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-6b100000-00000000000000000000abcd;Parent=1;Sampled=1")
    with bare_root() as root:
        root.addHandler(runtime_handler)
        logs.configure(logging.INFO)
        logging.getLogger("chalicelib.secrets").warning("SSM parameter %s unavailable", "/collections/dev/X",
                                                        extra={"aws_request_id": "req-1"})
        assert root.handlers == [runtime_handler]
    (line,) = (json.loads(text) for text in stream.getvalue().splitlines())
    assert line["msg"] == "SSM parameter /collections/dev/X unavailable" and line["aws_request_id"] == "req-1"
    assert line["trace_id"] == "1-6b100000-00000000000000000000abcd"


def test_elsewhere_a_json_stdout_handler_is_added_once(monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    with bare_root() as root:
        logs.configure("INFO")
        logs.configure("INFO")
        assert len(root.handlers) == 1
        logging.getLogger("local.http").info("GET /health 200", extra={"status": 200})
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["status"] == 200


def test_log_format_text_is_for_people(monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.setenv("LOG_FORMAT", "text")
    with bare_root():
        logs.configure("INFO")
        logging.getLogger("local.serve").info("ready in %.1f s", 1.5)
    (line,) = capsys.readouterr().out.splitlines()
    assert line.endswith(" INFO local.serve ready in 1.5 s") and not line.startswith("{")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_format_defaults_to_text_on_a_terminal_and_json_elsewhere(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert logs.choose_format("", _Terminal()) == "text"
    assert logs.choose_format("", io.StringIO()) == "json"  # a file, a pipe, CI
    assert logs.choose_format("json", _Terminal()) == "json"  # LOG_FORMAT said explicitly wins
    assert logs.choose_format("TEXT", io.StringIO()) == "text"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ai-backend-dev")
    assert logs.choose_format("", _Terminal()) == "json"  # Lambda: CloudWatch reads JSON


def test_on_a_terminal_a_request_is_one_plain_line_and_invocation_lines_stay_in_the_metrics_file(
        monkeypatch, tmp_path) -> None:  # noqa: ANN001
    from chalicelib import observability, settings

    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("LOCAL_DATA_DIR", str(tmp_path))
    settings.get_settings.cache_clear()
    terminal = _Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    try:
        with bare_root():
            logs.configure("INFO", stream=terminal)
            logging.getLogger("local.http").info("GET /health 200 3 ms")
            logging.getLogger("pgserver").info("Running commandline: initdb ...")  # start-up noise
            logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate.schemas")
            observability.emit({"level": "INFO", "msg": "invocation", "handler": "GET /health"},
                               {"Invocations": (1, "Count")})
    finally:
        settings.get_settings.cache_clear()
    (line,) = terminal.getvalue().splitlines()
    assert line.endswith(" INFO local.http GET /health 200 3 ms") and not line.startswith("{")
    (metric,) = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert json.loads(metric)["handler"] == "GET /health"


def test_the_app_log_is_kept_bounded(tmp_path) -> None:  # noqa: ANN001
    from localdev.applog import AppLog

    console = io.StringIO()
    out = AppLog(tmp_path / "app.log", console, max_bytes=2048)
    for n in range(100):
        out.write(f"line {n:03d} " + "x" * 90 + "\n")
    out.close()
    assert console.getvalue().count("\n") == 100  # the console sees everything
    current, previous = (tmp_path / "app.log").read_text(), (tmp_path / "app.log.1").read_text()
    assert current.endswith("line 099 " + "x" * 90 + "\n")
    assert len(current) <= 2048 + 100 and len(previous) <= 2048 + 100
    assert "line 000" not in current + previous  # older lines rotated away


def test_text_lines_name_the_app_s_loggers_without_their_package(monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.setenv("LOG_FORMAT", "text")
    with bare_root():
        logs.configure("INFO")
        logging.getLogger("chalicelib.collections.handlers").info("analyzer 4f0c: failed no image")
    (line,) = capsys.readouterr().out.splitlines()
    assert line.endswith(" INFO collections.handlers analyzer 4f0c: failed no image")
