"""The offline stand-in for Claude: one object per job it can do on this machine.

- Image analysis (``complete_json`` with an image): :mod:`offline_vision` reads the image.
- Page composition (``compose_page``): :mod:`offline_pages` builds the page from the activity.

A request for free-form JSON without an image has no offline answer: it is refused with
``ProviderError`` rather than filled with made-up words.
"""

from __future__ import annotations

from typing import Any

from chalicelib.providers.base import Image, JsonResult, ProviderError

OFFLINE = "offline"


class OfflineLLM:
    """Claude's offline stand-in, labelled ``provider_used = "offline"``."""

    #: The analyzer hands this provider the original upload (not a re-encoded copy): it reads
    #: small text at full resolution and the EXIF date, camera and GPS.
    reads_original = True

    def __init__(self) -> None:
        from chalicelib.providers.offline_vision import OfflineVision

        self.vision = OfflineVision()  # says once, now, if OCR is unavailable

    @property
    def model(self) -> str:
        return self.vision.model

    def complete_json(self, system: str, prompt: str, schema: dict[str, Any], *, tool_name: str = "respond",
                      images: list[Image] | None = None, max_tokens: int = 2048,
                      cache_system: bool = True) -> JsonResult:
        if not images:
            raise ProviderError("the offline provider answers image analysis and page composition only; "
                                "set ANTHROPIC_API_KEY for other requests")
        return self.vision.analyze(images[0], schema)

    def compose_page(self, page_type: str, pattern: dict[str, Any], context: dict[str, Any]) -> JsonResult:
        """The page's components; the caller validates them against its page schema."""
        from chalicelib.providers.offline_pages import MODEL, compose_page

        return JsonResult(data=compose_page(page_type, pattern, context), provider_used=OFFLINE, model_used=MODEL,
                          usage={"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 0})
