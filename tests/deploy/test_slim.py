"""The slimmed deployment package is within Lambda's limits and still runs: the app, every
SDK and every AWS client the code builds import from the package alone, plus the AWS SDK that
Lambda's Python runtime provides (on the path after the package, as in /var/runtime)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploy import package_size, slim
from tests.fakes.voyage_server import voyage_server

PROBE = r"""
import sys
sys.path.insert(0, sys.argv[1])
sys.path.append(sys.argv[2])  # Lambda's runtime: after the package, as /var/runtime is
import os
os.environ.update(STAGE="dev", SSM_PREFIX="/collections/dev", BUCKET_NAME="b", AWS_DEFAULT_REGION="us-east-1",
                  AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
import app
assert sorted(app.app.handler_map)  # every handler registered
import boto3
for service in ("s3", "events", "dynamodb", "lambda", "ssm", "bedrock-agentcore", "bedrock-runtime", "ses"):
    boto3.client(service, region_name="us-east-1")
boto3.resource("dynamodb", region_name="us-east-1").Table("t")
from chalicelib.providers.voyage import VoyageEmbedder
from chalicelib.providers.claude import ClaudeLLM
ClaudeLLM("k", "claude-sonnet-4-5")
# the voyageai SDK from the package (no tokenizers, zstandard or hf_xet) embeds over HTTP
result = VoyageEmbedder("pa-k", "voyage-3.5", base_url=sys.argv[3], max_retries=0).embed(["a", "b"], "query")
assert len(result.vectors) == 2 and len(result.vectors[0]) == result.dimensions, result
import PIL.Image, PIL.ImageOps, numpy, psycopg2, pymysql, pgvector.sqlalchemy, sqlalchemy, alembic, jwt
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
jwt.decode(jwt.encode({"sub": "a"}, key, algorithm="RS256"), key.public_key(), algorithms=["RS256"])
from io import BytesIO
image = PIL.Image.new("RGB", (64, 64)); out = BytesIO(); image.save(out, "JPEG"); image.save(BytesIO(), "WEBP")
sqlalchemy.create_engine("postgresql+psycopg2://u@127.0.0.1:1/x"); sqlalchemy.create_engine("mysql+pymysql://u@127.0.0.1:1/x")
leaked = [m.__file__ for m in list(sys.modules.values())
          if getattr(m, "__file__", None) and "site-packages" in m.__file__
          and not m.__file__.startswith((sys.argv[1], sys.argv[2]))]
assert not leaked, leaked[:5]
print("ok")
"""


#: What Lambda's Python runtime puts on the path (/var/runtime) and requirements.txt leaves out.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def _lambda_runtime(path: Path) -> Path:
    """A stand-in for /var/runtime: this environment's AWS SDK and its dependencies, alone."""
    import importlib

    path.mkdir()
    for name in RUNTIME_MODULES:
        module = importlib.import_module(name)
        source = Path(module.__file__)
        source = source.parent if source.name == "__init__.py" else source
        (path / source.name).symlink_to(source)
    return path


@pytest.mark.parametrize(("name", "dropped"), [
    ("numpy/_core/tests/test_api.py", True), ("numpy/__init__.py", False), ("numpy/__init__.pyi", True),
    ("botocore/data/ec2/2016-11-15/service-2.json.gz", True), ("botocore/data/s3/2006-03-01/service-2.json.gz", False),
    ("botocore/data/bedrock-agentcore/2024-02-28/service-2.json.gz", False), ("botocore/data/endpoints.json", False),
    ("zstandard/backend_c.so", True), ("tokenizers/tokenizers.abi3.so", True), ("hf_xet-1.8.0.dist-info/RECORD", True),
    ("chalicelib/db/migrations/versions/0001_base.py", False), ("app.py", False), ("sqlalchemy/testing/fixtures.py", False),
])
def test_what_is_dropped(name: str, dropped: bool) -> None:
    assert slim.dropped(name) is dropped


def test_every_binary_in_the_package_was_built_for_lambda(dev_zip: Path) -> None:
    """A wheel Chalice had to build here links to this machine's libraries (libjpeg, libxcb),
    which Lambda does not have: every platform wheel must be manylinux."""
    with zipfile.ZipFile(dev_zip) as archive:
        for name in archive.namelist():
            if name.endswith(".dist-info/WHEEL"):
                tags = [line.split(":", 1)[1].strip() for line in archive.read(name).decode().splitlines()
                        if line.startswith("Tag:")]
                assert all(t.endswith("-any") or "manylinux" in t for t in tags), (name, tags)


def test_slimmed_package_fits_and_still_imports(dev_zip: Path, tmp_path: Path) -> None:
    package = tmp_path / "deployment.zip"
    shutil.copy(dev_zip, package)
    summary = slim.slim(package)
    assert slim.slim(package) == summary  # idempotent: the marker says it is done
    figures = package_size.measure(package)
    assert figures["share"] <= package_size.GOAL, f"unzipped {figures['unzipped'] / package_size.MB:.0f} MB"
    assert figures["zipped"] <= package_size.ZIPPED_LIMIT
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "task")
    assert "app.py" in names and "chalicelib/wiring.py" in names and not any(n.startswith("tests/") for n in names)
    runtime = _lambda_runtime(tmp_path / "runtime")
    assert not names & {"boto3/__init__.py", "botocore/__init__.py"}, "the runtime provides the AWS SDK"
    with voyage_server() as voyage:
        result = subprocess.run([sys.executable, "-S", "-c", PROBE, str(tmp_path / "task"), str(runtime),
                                 voyage.url + "/v1"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.stdout.strip().endswith("ok"), result.stdout + result.stderr
    assert [r.body["input"] for r in voyage.requests] == [["a", "b"]]
