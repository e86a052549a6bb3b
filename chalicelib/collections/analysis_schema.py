"""What Claude is asked for: the system prompt, the instruction and the JSON schema that the
provider's forced tool call is validated against (the analysis fields items carry).

A ``default`` in the schema marks a field whose absence has an honest meaning (no
subcategories, no legible text, nothing listed, medium unknown): a missing one is filled with it
(:mod:`chalicelib.collections.analysis_repair`). Category, headline and summary have none: an
answer without them is asked again.
"""

from __future__ import annotations

from typing import Any

MAX_TOKENS = 2048

SYSTEM_PROMPT = (
    "You catalogue images in a personal collection so they can be found later by search. "
    "Describe only what is visible; transcribe legible text exactly; never invent details. "
    "Use short, common words for categories, objects and themes."
)

INSTRUCTION = (
    "Analyse this image for the user's collection. Give its primary category (one or two words, "
    "lower case, e.g. 'food', 'travel', 'receipt', 'screenshot', 'pets'), a few subcategories, a "
    "headline of at most 12 words, a summary of 1-3 sentences, the text visible in the image, the "
    "objects and themes you see, and metadata about the medium."
)

_STRINGS = {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 30, "default": []}

ANALYSIS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["category", "subcategories", "headline", "summary", "image_details", "media_metadata"],
    "properties": {
        "category": {"type": "string", "minLength": 1, "maxLength": 100},
        "subcategories": {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 10,
                          "default": []},
        "headline": {"type": "string", "minLength": 1, "maxLength": 300},
        "summary": {"type": "string", "minLength": 1, "maxLength": 4000},
        "image_details": {
            "type": "object",
            "default": {},
            "required": ["extracted_text", "objects", "themes"],
            "properties": {
                "extracted_text": {"type": "string", "maxLength": 20000, "default": ""},
                "objects": _STRINGS,
                "themes": _STRINGS,
            },
        },
        "media_metadata": {
            "type": "object",
            "default": {},
            "required": ["image_type"],
            "properties": {
                "image_type": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 50,
                    "default": "other",
                    "description": "photo, screenshot, illustration, document, diagram, meme or other",
                },
                "dominant_colors": {"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": 8},
                "location": {"type": ["string", "null"], "maxLength": 300},
                "platform": {"type": ["string", "null"], "maxLength": 200,
                             "description": "app or site, for screenshots"},
            },
        },
    },
}
