"""Restart ``make run`` when the app's source changes, and only then.

``chalice local``'s own reloader polls every file under the project folder once a second,
``.venv/`` and ``.local/`` included: the embedded database, the runtime's queue and the metrics
file change all the time, so it restarted the HTTP server every few seconds (dropping the
requests in flight) and spent a core walking the virtualenv. This watcher looks at the files
that make up the app, nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

#: What the app is made of, relative to the project root: files, or folders searched for ``*.py``.
WATCHED = ("app.py", "chalicelib", ".chalice/config.json", "requirements.txt")


class SourceWatcher:
    """Remembers the modification times of the app's source files and tells what changed."""

    def __init__(self, root: Path, watched: tuple[str, ...] = WATCHED) -> None:
        self._root = root
        self._watched = watched
        self._mtimes = self._snapshot()

    def _files(self) -> Iterator[Path]:
        for name in self._watched:
            path = self._root / name
            if path.is_file():
                yield path
            elif path.is_dir():
                for folder, subfolders, files in os.walk(path):
                    subfolders[:] = [d for d in subfolders if d != "__pycache__" and not d.startswith(".")]
                    for file in files:
                        if file.endswith(".py"):
                            yield Path(folder, file)

    def _snapshot(self) -> dict[Path, int]:
        mtimes = {}
        for path in self._files():
            try:
                mtimes[path] = path.stat().st_mtime_ns
            except OSError:  # removed between listing and stat: it counts as gone
                continue
        return mtimes

    def changed(self) -> Path | None:
        """The first source file added, edited or removed since the last call, or None."""
        current = self._snapshot()
        previous, self._mtimes = self._mtimes, current
        for path, mtime in current.items():
            if previous.get(path) != mtime:
                return path
        for path in previous.keys() - current.keys():
            return path
        return None
