"""Property-based fuzzing of the live local server (`make run`) from its own OpenAPI document, with
a valid token. Valid requests (positive mode): no 5xx, every status documented, every JSON body
matching its schema. Invalid requests (negative mode: wrong types, missing fields, values out of
range, bad JSON shapes): no 5xx, and every answer is JSON as documented.

Bounded (FUZZ_EXAMPLES per operation, 15 by default, derandomized) so the suite stays quick;
``FUZZ_EXAMPLES=200 make test`` digs deeper."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.openapi import document
from tests.conftest import TEST_JWT_SECRET, make_token
from tests.live_server import local_server

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
_DOC = document()


@schemathesis.check
def error_body_conformance(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                           case: schemathesis.Case) -> bool | None:
    """Every answer >= 400 is JSON and a documented error: ``Unauthorized`` for a 401 (API
    Gateway's own), ``Error`` (``{"error": {"code", "message"}}``) for any other."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.content[:200]!r}") from exc
    name = "Unauthorized" if response.status_code == 401 else "Error"
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": _DOC["components"]})
    errors = sorted(validator.iter_errors(body), key=str)
    if errors:
        raise AssertionError(f"{response.status_code} body is not a documented {name}: {errors[0].message}: {body!r}")
    return True


CHECKS = {
    GenerationMode.POSITIVE: [not_a_server_error, status_code_conformance, content_type_conformance,
                              response_schema_conformance, error_body_conformance],
    # An invalid request may be answered 400/404/413/415/422 (or accepted when the server is more
    # lenient than the schema): it must never be a 5xx and always a documented JSON body.
    GenerationMode.NEGATIVE: [not_a_server_error, status_code_conformance, content_type_conformance,
                              error_body_conformance],
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> str:  # noqa: ANN201
    with local_server(Path(tmp_path_factory.mktemp("fuzz")), pg_url, TEST_JWT_SECRET) as (base, _):
        yield base


# /local/blobs is the target of signed URLs (no token; bytes, not JSON): covered in tests/local.
SCHEMA = schemathesis.openapi.from_dict(document())
OPERATIONS = [(path, method) for path, ops in document()["paths"].items() for method in ops
              if path != "/local/blobs"]


def _can_be_invalid(path: str, method: str) -> bool:
    """Whether an invalid request exists: a body, or a query or path parameter with constraints
    (a CORS preflight's only input is a free-form path segment; nothing else has no input)."""
    definition = document()["paths"][path][method]
    return method != "options" and bool(definition.get("parameters") or definition.get("requestBody"))


CASES = [(path, method, GenerationMode.POSITIVE) for path, method in OPERATIONS] + [
    (path, method, GenerationMode.NEGATIVE) for path, method in OPERATIONS if _can_be_invalid(path, method)]


@pytest.mark.parametrize(("path", "method", "mode"), CASES, ids=[f"{m.upper()} {p} {g.value}" for p, m, g in CASES])
def test_no_5xx_and_every_response_as_documented(path: str, method: str, mode: GenerationMode, live: str) -> None:
    headers = {"Authorization": f"Bearer {make_token('fuzz-user')}"}
    operation = SCHEMA[path][method.upper()]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=live, headers=headers, checks=CHECKS[mode], timeout=30)

    fuzz()
