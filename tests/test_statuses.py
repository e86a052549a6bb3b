"""The shared table of allowed status moves every product's model declares."""

from __future__ import annotations

from enum import StrEnum

import pytest

from chalicelib.statuses import Transitions


class Light(StrEnum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"


LIGHTS = Transitions(Light, {Light.RED: {Light.GREEN}, Light.GREEN: {Light.AMBER}, Light.AMBER: {Light.RED}})


def test_a_move_is_allowed_only_from_the_statuses_listed_for_it() -> None:
    assert LIGHTS.allows("red", "green") and LIGHTS.allows(Light.AMBER, Light.RED)
    assert not LIGHTS.allows(Light.RED, Light.AMBER)
    assert LIGHTS.sources_of("red") == (Light.AMBER,)
    assert LIGHTS[Light.GREEN] == frozenset({Light.AMBER}) and set(LIGHTS) == set(Light)


def test_every_status_needs_an_entry_and_unknown_statuses_are_refused() -> None:
    with pytest.raises(ValueError, match="no moves given for amber"):
        Transitions(Light, {Light.RED: {Light.GREEN}, Light.GREEN: set()})
    with pytest.raises(ValueError):
        LIGHTS.allows("red", "blue")
