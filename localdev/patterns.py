"""EventBridge event-pattern matching, as the default bus applies rules to events.

Supported: exact values (lists of them), nested objects, ``prefix``, ``suffix`` (both also with
``equals-ignore-case``), ``anything-but`` (value, list, or ``prefix``/``suffix``),
``exists``, ``numeric``, ``equals-ignore-case``, ``wildcard``, ``cidr`` and ``$or``. When the
event holds an array, the field matches if any element matches.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

_MISSING = object()

_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """True if ``event`` (a full EventBridge event, or any object) matches ``pattern``."""
    return _match_object(pattern, event)


def _match_object(pattern: Mapping[str, Any], obj: Any) -> bool:
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_match_object(alt, obj) for alt in sub):
                return False
            continue
        value = obj.get(key, _MISSING) if isinstance(obj, Mapping) else _MISSING
        if isinstance(sub, Mapping):
            # A nested pattern: descend if the event has an object (or objects) there.
            candidates = value if isinstance(value, list) else [value]
            if not any(isinstance(c, Mapping) and _match_object(sub, c) for c in candidates):
                return False
        elif not _match_leaf(sub if isinstance(sub, list) else [sub], value):
            return False
    return True


def _match_leaf(matchers: list[Any], value: Any) -> bool:
    """A leaf matches if any matcher accepts the value (or, for arrays, any element)."""
    for matcher in matchers:
        if isinstance(matcher, Mapping) and "exists" in matcher:
            present = value is not _MISSING and value != []
            if bool(matcher["exists"]) == present:
                return True
            continue
        if value is _MISSING:
            continue
        values = value if isinstance(value, list) else [value]
        if any(_match_one(matcher, v) for v in values):
            return True
    return False


def _same(a: Any, b: Any) -> bool:
    """Exact JSON equality: 1 is not true, "5" is not 5, 5 is 5.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_number(a) and _is_number(b):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _match_one(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return _same(matcher, value)
    if len(matcher) != 1:
        raise ValueError(f"a content filter takes exactly one operator, got {dict(matcher)!r}")
    (op, arg), = matcher.items()
    if op == "prefix":
        return _affix(arg, value, str.startswith)
    if op == "suffix":
        return _affix(arg, value, str.endswith)
    if op == "equals-ignore-case":
        return isinstance(value, str) and isinstance(arg, str) and value.casefold() == arg.casefold()
    if op == "anything-but":
        return _anything_but(arg, value)
    if op == "numeric":
        return _numeric(arg, value)
    if op == "wildcard":
        return isinstance(value, str) and _wildcard(arg, value)
    if op == "cidr":
        return _cidr(arg, value)
    raise ValueError(f"unsupported content filter {op!r}")


def _affix(arg: Any, value: Any, test: Callable[[str, str], bool]) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(arg, Mapping) and "equals-ignore-case" in arg:
        return test(value.casefold(), str(arg["equals-ignore-case"]).casefold())
    return isinstance(arg, str) and test(value, arg)


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        if "prefix" in arg:
            return isinstance(value, str) and not value.startswith(arg["prefix"])
        if "suffix" in arg:
            return isinstance(value, str) and not value.endswith(arg["suffix"])
        if "equals-ignore-case" in arg:
            options = arg["equals-ignore-case"]
            options = options if isinstance(options, list) else [options]
            return isinstance(value, str) and value.casefold() not in {o.casefold() for o in options}
        raise ValueError(f"unsupported anything-but filter {dict(arg)!r}")
    options = arg if isinstance(arg, list) else [arg]
    return not any(_same(o, value) for o in options)


def _numeric(arg: list[Any], value: Any) -> bool:
    if not _is_number(value):
        return False
    if len(arg) % 2:
        raise ValueError(f"numeric filter needs operator/value pairs, got {arg!r}")
    for op, bound in zip(arg[::2], arg[1::2], strict=True):
        if op not in _NUMERIC_OPS:
            raise ValueError(f"unsupported numeric operator {op!r}")
        if not _NUMERIC_OPS[op](float(value), float(bound)):
            return False
    return True


def _wildcard(arg: str, value: str) -> bool:
    regex = ".*".join(re.escape(part) for part in arg.split("*"))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _cidr(arg: str, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(arg, strict=False)
    except ValueError:
        return False


__all__ = ["matches"]
