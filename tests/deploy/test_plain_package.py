"""What a plain ``chalice package`` (a fresh checkout, no slimming step) produces: no development
package, no AWS SDK (Lambda's runtime provides it), the voyageai SDK, and at most 90% of Lambda's
250 MB unzipped limit.

Building it resolves requirements.txt from the package index for the Lambda platform (about a
minute and a half from pip's cache). Chalice's dependency zip is kept in ``.local/plain-package/``
for a day (keyed by an md5 of requirements.txt), so reruns take seconds; without the index the
test skips, saying so."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from deploy import package_size

CACHE = package_size.ROOT / ".local" / "plain-package"
#: pip's words for "the index could not be reached", as chalice passes them on.
_OFFLINE = re.compile(r"NewConnectionError|Network is unreachable|Temporary failure in name resolution|"
                      r"Max retries exceeded|Could not find a version|No matching distribution|"
                      r"PackageDownloadError|NoSuchPackageError")


@pytest.fixture(scope="module")
def plain_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return package_size.build_plain("dev", tmp_path_factory.mktemp("plain"), cache=CACHE)
    except subprocess.CalledProcessError as exc:
        output = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        if _OFFLINE.search(output):
            pytest.skip("chalice package could not download the dependencies (is the package index "
                        f"reachable?): {output.strip().splitlines()[-1][:300]}")
        raise


def _tops(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return {name.split("/")[0] for name in archive.namelist()}


def test_the_lambda_package_has_no_development_code(plain_zip: Path) -> None:
    tops = _tops(plain_zip)
    assert {"app.py", "chalicelib", "voyageai"} <= tops  # voyageai's SDK stays the Voyage client
    assert not tops & {"localdev", "tests", "benchmarks", "deploy", ".local"}


def test_the_aws_sdk_comes_from_the_lambda_runtime(plain_zip: Path) -> None:
    """boto3 is left to the runtime (21 MB, 9% of the limit): nothing may pull it back in."""
    assert not {t for t in _tops(plain_zip) if re.match(r"(boto3|botocore|s3transfer)\b", t)}


def test_a_plain_package_stays_below_90_percent_of_the_limit(plain_zip: Path) -> None:
    figures = package_size.measure(plain_zip)
    mb = figures["unzipped"] / package_size.MB
    assert figures["share"] <= package_size.PLAIN_CEILING, f"{mb:.1f} MB, {figures['share']:.0%} of the limit"
