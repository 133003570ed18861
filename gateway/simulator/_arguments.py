"""Tool-call arguments built from a tool's JSON schema, deterministically.

Only ``required`` properties are filled (recursively), each with the simplest value its schema
allows: ``const``, else the first ``enum`` value, else a value of its type within its bounds.
Gemini's upper-case type names (``STRING``, ``OBJECT``) are read like the lower-case ones.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

__all__ = ["arguments_for"]

_MAX_DEPTH = 8


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    if kind is None:
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
    return str(kind).lower() if kind is not None else "string"


def _value(schema: Any, name: str, rng: random.Random, depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return f"sim-{name}"
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _value(schema[key][0], name, rng, depth + 1)
    kind = _type_of(schema)
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            key: _value(properties.get(key, {}), key, rng, depth + 1)
            for key in schema.get("required") or ()
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [_value(schema.get("items", {}), name, rng, depth + 1) for _ in range(count)]
    if kind == "integer":
        least = int(schema.get("minimum", 1))
        return rng.randint(least, max(least, int(schema.get("maximum", least + 99))))
    if kind == "number":
        bottom = float(schema.get("minimum", 0.0))
        return round(rng.uniform(bottom, float(schema.get("maximum", bottom + 100.0))), 2)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, name, rng)


def _string(schema: Mapping[str, Any], name: str, rng: random.Random) -> str:
    text = f"sim-{name}-{rng.randrange(1000):03d}"
    min_length = int(schema.get("minLength", 0))
    max_length = int(schema.get("maxLength", len(text)))
    return text.ljust(min_length, "x")[: max(max_length, min_length)]


def arguments_for(schema: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Arguments satisfying ``schema``'s required properties, the same for the same seed."""
    value = _value(schema, "arg", random.Random(seed), 0)
    return value if isinstance(value, dict) else {}
