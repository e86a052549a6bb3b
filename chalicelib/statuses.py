"""The moves allowed between the statuses of one kind of record: every product's model declares
its status enum and one :class:`Transitions` table, and its repository guards each status update
with it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)


class Transitions(Mapping[S, frozenset[S]], Generic[S]):
    """Where each status may go (``table[status]``); every status of the enum has an entry."""

    def __init__(self, status_type: type[S], moves: Mapping[S, Iterable[S]]) -> None:
        missing = [status.value for status in status_type if status not in moves]
        if missing:
            raise ValueError(f"no moves given for {', '.join(missing)}")
        self._type = status_type
        self._moves = {status_type(source): frozenset(map(status_type, targets)) for source, targets in moves.items()}

    def __getitem__(self, source: S | str) -> frozenset[S]:
        return self._moves[self._type(source)]

    def __iter__(self) -> Iterator[S]:
        return iter(self._moves)

    def __len__(self) -> int:
        return len(self._moves)

    def allows(self, current: S | str, target: S | str) -> bool:
        """Whether ``current -> target`` is an allowed move."""
        return self._type(target) in self[current]

    def sources_of(self, target: S | str) -> tuple[S, ...]:
        """Every status a record may move to ``target`` from: the guard of a conditional UPDATE."""
        wanted = self._type(target)
        return tuple(source for source, targets in self._moves.items() if wanted in targets)
