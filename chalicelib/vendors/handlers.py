"""What app.py and the task worker call: the vendor tools and quote desk wired for this stage."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib import wiring
from chalicelib.settings import MissingSetting, get_settings
from chalicelib.vendors.desk import QuoteDesk
from chalicelib.vendors.links import link_secret
from chalicelib.vendors.tools import Toolbox


def desk() -> QuoteDesk:
    settings = get_settings()
    return QuoteDesk(wiring.quote_requests(), wiring.task_store(), link_secret(settings), settings.quote_max_price)


def toolbox(task_id: str, description: str, on_event: Callable[[str, str], None]) -> Toolbox:
    """The tools for one task run. Outside the local stage the links need the API's public URL."""
    settings = get_settings()
    base = settings.public_base_url
    if not settings.is_local and base.startswith(("http://127.0.0.1", "http://localhost")):
        raise MissingSetting("PUBLIC_BASE_URL", "set it to the API's URL (https://<api>/api) for the quote links")
    return Toolbox(
        task_id=task_id, description=description, directory=wiring.vendor_directory(),
        requests=wiring.quote_requests(), mailer=wiring.mailer(), link_secret=link_secret(settings),
        public_base_url=base, link_ttl_seconds=settings.quote_link_ttl_seconds,
        max_quote_requests=settings.agent_max_quote_requests, on_event=on_event,
    )
