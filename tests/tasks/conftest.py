"""Tasks fixtures: the same store contract on PostgreSQL, MariaDB (when enabled) and DynamoDB."""

from __future__ import annotations

import boto3
import pytest

from chalicelib.tasks.dynamo_store import TABLE_DEFINITION, DynamoTaskStore
from chalicelib.tasks.sql_store import SqlTaskStore


def make_table(name: str = "valro-tasks-test"):  # noqa: ANN201 - boto3 Table
    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    return dynamodb.create_table(TableName=name, **TABLE_DEFINITION)


@pytest.fixture(params=["postgresql", "mysql", "dynamodb"])
def store(request: pytest.FixtureRequest):  # noqa: ANN201 - a TaskStore
    from chalicelib.db.engine import get_engine

    if request.param == "postgresql":
        return SqlTaskStore(get_engine(request.getfixturevalue("pg_url")))
    if request.param == "mysql":
        return SqlTaskStore(get_engine(request.getfixturevalue("mysql_url")))
    request.getfixturevalue("aws")
    return DynamoTaskStore(make_table())
