"""What ``make run`` prints, also kept in ``<LOCAL_DATA_DIR>/app.log`` for ``make logs``.

One writer (the ``make run`` process) owns the file: its own output and the lines of its
``chalice local`` child (read from a pipe) go through :class:`AppLog`, which writes each to the
console and to the file, and keeps the file bounded by rotating it to ``app.log.1`` once it
passes ``max_bytes`` (so at most twice that on disk).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO, Any

LOG_FILE = "app.log"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


def log_path(data_dir: Path) -> Path:
    """Where ``make run`` keeps its log."""
    return Path(data_dir) / LOG_FILE


class AppLog:
    """A text stream that writes to ``console`` and to a bounded file (usable as ``sys.stdout``)."""

    def __init__(self, path: Path, console: IO[str], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.console = console
        self.max_bytes = max(1024, max_bytes)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, text: str) -> int:
        with self._lock:
            self.console.write(text)
            self.console.flush()
            if not self._file.closed:
                try:
                    self._file.write(text)
                    self._file.flush()
                    if text.endswith("\n") and self._file.tell() > self.max_bytes:
                        self._rotate()
                except OSError as exc:  # a full or read-only disk: the console still gets everything
                    self._file.close()
                    self.console.write(f"(no longer writing {self.path}: {exc.strerror or exc})\n")
        return len(text)

    def _rotate(self) -> None:
        self._file.close()
        self.path.replace(self.path.with_name(self.path.name + ".1"))
        self._file = self.path.open("a", encoding="utf-8")

    def flush(self) -> None:
        with self._lock:
            self.console.flush()
            if not self._file.closed:
                try:
                    self._file.flush()
                except OSError:
                    self._file.close()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def isatty(self) -> bool:
        return self.console.isatty()

    def fileno(self) -> int:
        return self.console.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.console, "encoding", None) or "utf-8"

    def __getattr__(self, name: str) -> Any:  # errors, buffer, ... of the console
        return getattr(self.console, name)


def forward(pipe: IO[bytes], out: AppLog) -> None:
    """Copy a child's output, line by line, to ``out`` until the child closes it."""
    for line in iter(pipe.readline, b""):
        out.write(line.decode("utf-8", "replace"))
