"""Messages of the mapping engine as structured texts: a msgid and its arguments.

The engine is pure (no Django), so it cannot translate; it names each message by its English
template, marked with ``N_`` so ``manage.py makemessages --keyword=N_`` extracts it, and keeps
the values (the admin's text, numbers, field names) apart as arguments. The console translates
when it shows a message: ``Msg.as_dict()`` is the ``{"msgid", "args"}`` shape that
``dtconsole.sync.texts.render`` renders, nested texts included. ``str()`` gives the English.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Msg", "N_", "join_texts"]


def N_(text: str) -> str:  # noqa: N802
    """Marks a msgid for the catalogue (``make messages --keyword=N_``); returns it unchanged."""
    return text


@dataclass(frozen=True)
class Msg:
    """A msgid (an English template with ``%(name)s`` placeholders) and its arguments.

    An argument may itself be a ``Msg``; it is rendered (or translated) in its place.
    """

    msgid: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A private copy: a frozen text must not change with the caller's dict.
        object.__setattr__(self, "args", dict(self.args))

    def __hash__(self) -> int:
        return hash((self.msgid, frozenset(self.args.items())))

    def __str__(self) -> str:
        """The English text; like ``render``, a text without arguments is not %-formatted."""
        if not self.args:
            return self.msgid
        return self.msgid % {key: _english(value) for key, value in self.args.items()}

    def as_dict(self) -> dict[str, Any]:
        """``{"msgid": ..., "args": {...}}``, with nested texts as nested dicts of this shape."""
        args = {key: _plain(value) for key, value in self.args.items()}
        return {"msgid": self.msgid, "args": args}


def join_texts(texts: Sequence[Msg]) -> Msg:
    """One text listing ``texts`` separated by "; " (e.g. every error of one account).

    Split in halves rather than chained, so rendering nests log2(n) levels deep, not n.
    """
    if not texts:
        raise ValueError("join_texts needs at least one text")
    if len(texts) == 1:
        return texts[0]
    middle = len(texts) // 2
    left, right = join_texts(texts[:middle]), join_texts(texts[middle:])
    # Translators: separates two parts of a list of errors.
    return Msg(N_("%(left)s; %(right)s"), {"left": left, "right": right})


def _english(value: Any) -> Any:
    return str(value) if isinstance(value, Msg) else value


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, Msg) else value
