"""What a plain ``chalice package`` (a fresh checkout, no slimming step) produces: no development
package, and (the goal) within 90% of Lambda's 250 MB unzipped limit. Building it resolves the
dependencies again (from pip's cache when offline): about two minutes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from deploy import package_size


@pytest.fixture(scope="module")
def plain_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_size.build_plain("dev", tmp_path_factory.mktemp("plain"))


def test_the_lambda_package_has_no_development_code(plain_zip: Path) -> None:
    with zipfile.ZipFile(plain_zip) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {"app.py", "chalicelib", "voyageai"} <= tops  # voyageai's SDK stays the Voyage client
    assert not tops & {"localdev", "tests", "benchmarks", "deploy", ".local"}


@pytest.mark.xfail(strict=True, reason=(
    "measured 2026-12-03: 97% of the unzipped limit (242 MB of dependencies). voyageai pulls "
    "langchain-text-splitters -> langchain-core -> langsmith -> zstandard (23 MB) and tokenizers -> "
    "huggingface_hub -> hf_xet (11 MB); only `make deploy`'s slimming step (deploy/slim.py) brings "
    "it to 57%. Remove this mark when a plain package fits."))
def test_a_plain_package_stays_below_90_percent_of_the_limit(plain_zip: Path) -> None:
    figures = package_size.measure(plain_zip)
    assert figures["share"] <= package_size.PLAIN_CEILING, f"{figures['unzipped'] / package_size.MB:.0f} MB"
