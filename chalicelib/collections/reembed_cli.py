"""``make reembed``: bring every current analysis's embedding to the configured embedding model
(``VOYAGE_EMBEDDING_MODEL``, or the offline model without a key). Resumable: it re-embeds only
what is still stale, in batches committed one by one, so it can be stopped and run again.

    python -m chalicelib.collections.reembed_cli [--batch-size 128] [--limit N]
"""

from __future__ import annotations

import argparse
import logging
import sys

from chalicelib.collections.embedding import BATCH_SIZE, reembed


def main(argv: list[str] | None = None) -> int:
    from chalicelib import wiring
    from chalicelib.collections.handlers import repository

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--limit", type=int, default=None, help="stop after this many analyses")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")

    def progress(done: int, total: int) -> None:
        print(f"re-embedded {done}/{total} ({100 * done // max(total, 1)}%)", flush=True)

    report = reembed(repository(), wiring.embedder(), batch_size=args.batch_size, limit=args.limit,
                     progress=progress)
    print(f"{report.reembedded} analyses now embedded with {report.model} ({report.dimensions} dims) in "
          f"{report.calls} calls; {report.remaining} still stale", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
