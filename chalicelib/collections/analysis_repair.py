"""Safe repairs of a model answer that is almost the requested shape.

Only changes that keep what the model said and add no claim of ours:
- a list where text is asked is joined (lines for ``extracted_text``, else ", "); for the
  one-label ``category`` its first entry is kept;
- a number where text is asked becomes its text;
- text where a list is asked becomes a list (split on new lines, else on ";" or ",");
- list entries that are numbers become text; empty or null entries are dropped;
- an object sent as a JSON string is parsed;
- text or lists longer than the schema allows are cut (at a word boundary where there is one);
- a missing or null field is filled only from the schema's own ``default``.

Nothing is invented: a missing field without a default (category, headline, summary) or an
empty required text stays broken, and the caller asks the model again. The result must still be
validated against the schema.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

#: How a list is joined into the text field of this name (default ", ").
_JOINERS = {"extracted_text": "\n", "summary": " ", "headline": " "}
#: One-label text fields: of a list, the first entry is kept.
_FIRST = {"category"}
_SPLIT = re.compile(r"\s*[;,]\s*")


@dataclass
class Repair:
    """The repaired value and what was changed (``"image_details/objects: text split into a list"``)."""

    value: Any
    changes: list[str] = field(default_factory=list)


def repair(value: Any, schema: dict[str, Any]) -> Repair:
    """A copy of ``value`` with the safe repairs applied, and the list of changes made."""
    changes: list[str] = []
    return Repair(_fix(copy.deepcopy(value), schema, "", changes), changes)


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return set()
    return set(kind) if isinstance(kind, list) else {kind}


def _fix(value: Any, schema: dict[str, Any], path: str, changes: list[str]) -> Any:
    types = _types(schema)
    if value is None and "null" in types:
        return None
    if value is None and "default" in schema:
        changes.append(f"{path or '(root)'}: null replaced by the schema default")
        value = copy.deepcopy(schema["default"])
    if "object" in types:
        return _fix_object(value, schema, path, changes)
    if "array" in types:
        return _fix_array(value, schema, path, changes)
    if "string" in types:
        return _fix_string(value, schema, path, changes)
    return value


def _fix_object(value: Any, schema: dict[str, Any], path: str, changes: list[str]) -> Any:
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, dict):
            changes.append(f"{path or '(root)'}: object sent as JSON text parsed")
            value = parsed
    if not isinstance(value, dict):
        return value
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        sub = properties.get(name, {})
        if name not in value and "default" in sub:
            value[name] = copy.deepcopy(sub["default"])
            changes.append(f"{_join(path, name)}: missing, filled with the schema default")
    for name, sub in properties.items():
        if name in value:
            value[name] = _fix(value[name], sub, _join(path, name), changes)
    return value


def _fix_array(value: Any, schema: dict[str, Any], path: str, changes: list[str]) -> Any:
    item_schema = schema.get("items", {})
    if isinstance(value, str) and "string" in _types(item_schema):
        parts = value.splitlines() if "\n" in value else _SPLIT.split(value)
        value = [part.strip() for part in parts if part.strip()]
        changes.append(f"{path}: text split into a list")
    if not isinstance(value, list):
        return value
    fixed = []
    for index, entry in enumerate(value):
        if entry is None or (isinstance(entry, str) and not entry.strip()):
            changes.append(f"{path}/{index}: empty entry dropped")
            continue
        fixed.append(_fix(entry, item_schema, f"{path}/{index}", changes))
    limit = schema.get("maxItems")
    if isinstance(limit, int) and len(fixed) > limit:
        changes.append(f"{path}: {len(fixed)} entries cut to {limit}")
        fixed = fixed[:limit]
    return fixed


def _fix_string(value: Any, schema: dict[str, Any], path: str, changes: list[str]) -> Any:
    name = path.rsplit("/", 1)[-1]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        entries = [str(v).strip() for v in value if str(v).strip()]
        if name in _FIRST:
            value = entries[0] if entries else ""
            changes.append(f"{path}: first entry of a list kept")
        else:
            value = _JOINERS.get(name, ", ").join(entries)
            changes.append(f"{path}: list joined into text")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
        changes.append(f"{path}: number written as text")
    if not isinstance(value, str):
        return value
    limit = schema.get("maxLength")
    if isinstance(limit, int) and len(value) > limit:
        value = _cut(value, limit)
        changes.append(f"{path}: text cut to {limit} characters")
    return value


def _cut(text: str, limit: int) -> str:
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space].rstrip() if space > limit * 0.8 else cut


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name
