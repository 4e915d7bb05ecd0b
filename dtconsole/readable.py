"""Stored values (JSON from audit entries, event diffs, extra attributes) as a person reads them.

No Python reprs reach a page: booleans are yes/no, lists are comma-separated, objects are
"key: value" pairs, a stored sentence ({"msgid", "args"}) is rendered in the reader's language,
and an empty value is the empty string (the template shows it as "(empty)").
"""

from collections.abc import Mapping
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from dtconsole.sync.texts import render


def readable(value: Any) -> str:
    """``value`` as text for a page."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return number_format(value)
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(text for text in (readable(v) for v in value) if text)
    return str(value)


def _mapping(value: Mapping) -> str:
    if "msgid" in value and set(value) <= {"msgid", "args"}:
        return render(str(value["msgid"]), value.get("args"))
    pairs = ((str(key), readable(item)) for key, item in value.items())
    return "; ".join(f"{key}: {text}" if text else f"{key}: —" for key, text in pairs)
