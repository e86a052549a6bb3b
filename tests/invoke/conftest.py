"""Fixtures for the Lambda adapter tests: a Stubber'd real botocore client and a fake one.

Nothing here opens a socket: the Stubber answers before botocore sends anything, and it
checks every call's parameters against botocore's Lambda model.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from invoke_helpers import FIXED_NOW, Recorder

from chalicelib.invoke import LambdaAdapter


@pytest.fixture
def lambda_client():
    return boto3.session.Session().client(
        "lambda",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url="http://127.0.0.1:1",  # never reached: the Stubber answers first
    )


@pytest.fixture
def stubber(lambda_client) -> Iterator[Stubber]:
    with Stubber(lambda_client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_adapter(lambda_client, recorder):
    def make(**overrides) -> LambdaAdapter:
        kwargs = {
            "function_identifier": "my-function",
            "region": "us-east-1",
            "module_name": "my_module",
            "client": lambda_client,
            "sleep": recorder.sleep,
            "async_sleep": recorder.async_sleep,
            "rng": recorder.rng,
            "clock": lambda: FIXED_NOW,
        }
        kwargs.update(overrides)
        return LambdaAdapter(**kwargs)

    return make
