"""The vendors CSV import as a command: validate a file and upsert it into the directory."""

from __future__ import annotations

import csv
from pathlib import Path

from chalicelib.vendors.directory import VendorDirectory
from chalicelib.vendors.importer import RowError, import_text


def main(argv: list[str] | None = None) -> int:
    """``python -m chalicelib.vendors.import_cli FILE [--source NAME]`` (``make vendors-import``)."""
    import argparse
    import sys

    from chalicelib import wiring

    parser = argparse.ArgumentParser(description="Validate a vendors CSV and upsert it into the directory.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--source", default="import", help="source of rows without a source column")
    args = parser.parse_args(argv)
    try:
        text = args.file.read_text(encoding="utf-8-sig")
        report = import_text(VendorDirectory(wiring.engine()), text, args.source)
    except (OSError, UnicodeDecodeError, RowError, csv.Error) as exc:
        print(f"vendors-import: {exc}", file=sys.stderr)
        return 2
    for line, reason in report.rejected:
        print(f"line {line}: rejected: {reason}", file=sys.stderr)
    print(report.summary())
    return 1 if report.rejected else 0


if __name__ == "__main__":
    raise SystemExit(main())
