"""`chalice package` once per stage per test session (offline once Chalice's dependency zip is
cached in .chalice/deployments/; the first build takes ~30 s from the local pip cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy import stack

_built: dict[str, tuple[dict[str, Any], Path]] = {}


def chalice_package(stage: str, out: Path) -> tuple[dict[str, Any], Path]:
    """The terraform resources (plus the API's swagger under ``"swagger"``) and the deployment
    zip ``chalice package`` writes for ``stage``."""
    chalice = Path(sys.executable).with_name("chalice")
    env = {k: v for k, v in os.environ.items() if k not in {"STAGE", "DATABASE_URL", "LOCAL_DATA_DIR", "JWT_SECRET"}}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    result = subprocess.run(
        [str(chalice), "package", "--pkg-format", "terraform", "--stage", stage, str(out)],
        cwd=stack.ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads((out / "chalice.tf.json").read_text())
    resources = {**document["resource"], "swagger": json.loads(document["locals"]["chalice_api_swagger"])}
    return resources, out / "deployment.zip"


@pytest.fixture(scope="session", params=["dev", "prod"])
def package(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """(stage, terraform resources) for each AWS stage."""
    stage = request.param
    if stage not in _built:
        _built[stage] = chalice_package(stage, tmp_path_factory.mktemp(f"package-{stage}"))
    return stage, _built[stage][0]


@pytest.fixture(scope="session")
def dev_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "dev" not in _built:
        _built["dev"] = chalice_package("dev", tmp_path_factory.mktemp("package-dev"))
    return _built["dev"][1]
