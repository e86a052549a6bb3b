"""The local emulator and its routes exist only in the local stage: any other stage's app
neither imports ``localdev`` nor registers ``/local/*`` routes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, sys
import app
print(json.dumps({"routes": sorted(app.app.routes), "localdev": any(m.split(".")[0] == "localdev" for m in sys.modules)}))
"""


def _app_in(stage: str) -> dict:
    env = {**os.environ, "STAGE": stage, "SSM_PREFIX": "", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_deployed_stages_have_no_local_routes_and_no_emulator() -> None:
    for stage in ("dev", "prod"):
        found = _app_in(stage)
        assert not found["localdev"], stage
        # Only the sign-in stand-in that answers 404 (and mints nothing) is under /local.
        assert [route for route in found["routes"] if route.startswith("/local")] == ["/local/token"], stage
        assert "/items" in found["routes"]


def test_the_local_stage_has_them() -> None:
    found = _app_in("local")
    assert found["localdev"] and "/local/blobs" in found["routes"]
