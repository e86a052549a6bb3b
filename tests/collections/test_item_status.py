"""Item statuses: the enum's values are the API's, the allowed moves, and the guard that keeps a
status update from making a move the table does not allow."""

from __future__ import annotations

import json

import pytest

from chalicelib.collections.model import FINISHED, TRANSITIONS, ItemStatus, may_move, sources_of


def test_values_are_the_api_strings() -> None:
    assert [s.value for s in ItemStatus] == ["awaiting_upload", "processing", "ready", "failed"]
    assert json.dumps({"status": ItemStatus.READY}) == '{"status": "ready"}'
    assert ItemStatus("processing") is ItemStatus.PROCESSING


def test_every_status_has_its_moves() -> None:
    assert set(TRANSITIONS) == set(ItemStatus)
    assert FINISHED == {ItemStatus.READY, ItemStatus.FAILED}


@pytest.mark.parametrize(("current", "target", "allowed"), [
    ("awaiting_upload", "processing", True),   # the bytes arrived
    ("awaiting_upload", "ready", False),       # nothing was analysed
    ("processing", "ready", True),      # embedded
    ("ready", "processing", True),      # re-analysis or re-upload
    ("failed", "processing", True),
    ("ready", "awaiting_upload", False),       # created only
    ("failed", "failed", True),
])
def test_moves(current: str, target: str, allowed: bool) -> None:
    assert may_move(current, target) is allowed
    assert (ItemStatus(current) in sources_of(target)) is allowed


def test_a_status_update_only_makes_an_allowed_move(client, user) -> None:  # noqa: ANN001
    """An item created by POST /items (bytes not arrived) cannot be marked ready; it can fail."""
    from chalicelib import wiring
    from chalicelib.collections.repository import MAX_ERROR_LENGTH, CollectionsRepository
    from tests.collections.conftest import create_item, get_item

    item_id = create_item(client, user)["item_id"]
    items = CollectionsRepository(wiring.engine())
    assert items.set_status(item_id, ItemStatus.READY) is False
    assert get_item(client, user, item_id).json_body["status"] == "awaiting_upload"
    assert items.set_status(item_id, ItemStatus.FAILED, error="x" * 2000) is True
    body = get_item(client, user, item_id).json_body
    assert (body["status"], len(body["error"])) == ("failed", MAX_ERROR_LENGTH)
