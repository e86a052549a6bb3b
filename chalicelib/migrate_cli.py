"""``python -m chalicelib.migrate_cli`` (``make migrate``): migrate the configured database(s)."""

from __future__ import annotations

import logging
import sys

from chalicelib import wiring
from chalicelib.db.migrate import upgrade


def main() -> None:
    """Bring DATABASE_URL and the pages database (DB_* when set) to every product's head."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    urls = wiring.database_urls()
    for url in dict.fromkeys(urls):
        upgrade(url)
    print(f"migrated {len(set(urls))} database(s)", file=sys.stderr)


if __name__ == "__main__":
    main()
