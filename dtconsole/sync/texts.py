"""Sentences a sync job or event stores in English and shows in the reader's language.

The engine runs on a worker, not in anyone's request: it stores a msgid (marked with ``N_``
so ``make messages`` extracts it) and its arguments, and pages and the API translate when
they show it. A text that is not in the catalogue (DingTalk's own words, an old event) is
shown as it was stored.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext, gettext_noop

N_ = gettext_noop


@dataclass(frozen=True)
class Text:
    """A msgid and its arguments."""

    msgid: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self.msgid, self.args)


def render(msgid: str, args: Mapping[str, Any] | None = None) -> str:
    """``msgid`` in the active language with ``args`` filled in."""
    if not msgid:
        return ""
    text = gettext(msgid)
    if not args:
        return text
    try:
        return text % {k: _arg(v) for k, v in args.items()}
    except (KeyError, ValueError, TypeError):
        return msgid % {k: _arg(v) for k, v in args.items()} if _fits(msgid, args) else text


def translated(text: Any) -> str:
    """A structured text of the mapping engine (``mappings.messages.Msg``, anything with
    ``as_dict()`` giving msgid and args) in the active language."""
    return render(**text.as_dict())


def _arg(value: Any) -> Any:
    """An argument that is itself a stored text ({"msgid", "args"}) is rendered too."""
    if isinstance(value, Mapping) and "msgid" in value:
        return render(value["msgid"], value.get("args"))
    return value


def _fits(msgid: str, args: Mapping[str, Any]) -> bool:
    try:
        msgid % {k: _arg(v) for k, v in args.items()}
    except (KeyError, ValueError, TypeError):
        return False
    return True


def stored(text: "Text | str") -> tuple[str, dict[str, Any]]:
    """(msgid, args) to store for ``text``."""
    if isinstance(text, Text):
        return text.msgid, dict(text.args)
    return str(text), {}
