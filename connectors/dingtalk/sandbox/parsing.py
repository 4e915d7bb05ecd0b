"""Lenient request parsing, as DingTalk's gateway does it (dingtalk-api.md §0.2, §10.3).

The old Java SDK sends every field as a form text parameter: lists become JSON strings,
`dept_id_list` becomes "2,3,4", booleans and numbers become "true" and "10". The official
guide sends JSON. We accept all of these through one small typed accessor, `Params`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid, missing

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def parse_body(content_type: str, raw: bytes) -> tuple[dict[str, Any], str]:
    """Decode a request body. Returns (fields, kind); kind is json, form, empty or invalid."""
    if not raw.strip():
        return {}, "empty"
    ctype = content_type.split(";", 1)[0].strip().lower()
    looks_json = raw.lstrip()[:1] in (b"{", b"[")
    if ctype == "application/json" or (looks_json and "form" not in ctype):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return {}, "invalid"
        return (data, "json") if isinstance(data, dict) else ({}, "invalid")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {}, "invalid"
    return dict(parse_qsl(text, keep_blank_values=True)), "form"


def _maybe_json(value: Any) -> Any:
    """Lists and objects may arrive as JSON-encoded strings (old SDK style)."""
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def to_int(value: Any) -> int | None:
    """An int from a JSON number or a numeric string; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def to_bool(value: Any) -> bool | None:
    """A bool from true/false, "true"/"false" or 1/0; None when it is none of those."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


class Params:
    """Typed, lenient access to request fields. Bad values raise ApiError 40035, missing
    required ones raise 400002 (see errors.missing for why)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        """True when the field was sent (an empty string counts: it means "clear")."""
        return self.data.get(name) is not None

    def text(self, name: str, required: bool = False) -> str | None:
        """A string field; numbers are accepted and turned into text."""
        value = self.data.get(name)
        if value is None or (required and value == ""):
            if required:
                raise missing(name)
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid(name)
        return str(value).strip()

    def integer(self, name: str, required: bool = False) -> int | None:
        """A whole number, given as a number or a numeric string."""
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return None
        number = to_int(value)
        if number is None:
            raise invalid(name)
        return number

    def boolean(self, name: str, required: bool = False) -> bool | None:
        """A boolean, given as true/false, "true"/"false" or 1/0."""
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return None
        flag = to_bool(value)
        if flag is None:
            raise invalid(name)
        return flag

    def int_list(self, name: str, required: bool = False) -> list[int] | None:
        """Ids as a JSON array, a JSON-in-string array, or "1,2,3"."""
        items = self._items(name, required)
        if items is None:
            return None
        numbers = [to_int(item) for item in items]
        if any(n is None for n in numbers):
            raise invalid(name)
        return [n for n in numbers if n is not None]

    def str_list(self, name: str, required: bool = False) -> list[str] | None:
        """Strings as a JSON array, a JSON-in-string array, or "a,b,c"."""
        items = self._items(name, required)
        if items is None:
            return None
        if any(not isinstance(item, str | int) or isinstance(item, bool) for item in items):
            raise invalid(name)
        return [str(item).strip() for item in items if str(item).strip()]

    def objects(self, name: str) -> list[dict[str, Any]] | None:
        """A list of objects, as JSON or as a JSON string (dept_order_list and friends)."""
        value = _maybe_json(self.data.get(name))
        if value is None or value == "":
            return None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise invalid(name)
        return value

    def obj(self, name: str) -> dict[str, Any] | None:
        """An object, as JSON or as a JSON string (extension)."""
        value = _maybe_json(self.data.get(name))
        if value is None or value == "":
            return None
        if not isinstance(value, dict):
            raise invalid(name)
        return value

    def _items(self, name: str, required: bool) -> list[Any] | None:
        value = _maybe_json(self.data.get(name))
        if value is None or value == "":
            if required:
                raise missing(name)
            return None
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, int) and not isinstance(value, bool):
            return [value]
        if not isinstance(value, list):
            raise invalid(name)
        return value
