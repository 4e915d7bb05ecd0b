"""A small, safe expression language for field mappings.

An admin writes an expression such as ``lower(username) + "@example.com"`` to compute a
DingTalk field from an account. The text is tokenised and parsed by hand into a tree of the
few node kinds below, checked once (``compile_expression``), then evaluated against a context
of plain values (``Expression.evaluate``). Nothing here uses ``eval``, ``exec``, ``compile``
or Python's ``ast``, and no expression can reach a Python attribute: names are looked up as
keys of the context dict, and ``extra.*`` descends into plain JSON mappings only.

Language (documented for admins in ``templates/mappings/expression_help.html``):

- literals: ``'text'`` or ``"text"`` (escapes ``\\\\ \\' \\" \\n \\t``), numbers ``42``,
  ``-1``, ``3.5``, and ``true``, ``false``, ``null``;
- names: the account attributes in ``NAMES`` and ``extra.<key>`` (``extra.a.b`` descends
  into nested objects; ``extra("any key")`` reads a key that is not a plain word);
- ``+`` joins values as text (``1 + 2`` is ``"12"``; null joins as nothing);
- ``==`` and ``!=`` compare numbers as numbers and everything else as text;
- ``and``, ``or``, ``not`` (null, empty text, ``false`` and ``0`` are false) and parentheses;
- the functions in ``FUNCTIONS``.

Precedence, loosest first: ``or``, ``and``, ``not``, ``==``/``!=``, ``+``.
Limits keep evaluation cheap: ``MAX_LENGTH`` characters of text, ``MAX_DEPTH`` levels of
nesting and ``MAX_RESULT_LENGTH`` characters for any text an expression produces.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .messages import N_, Msg

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_RESULT_LENGTH",
    "NAMES",
    "Expression",
    "ExpressionError",
    "compile_expression",
    "is_empty",
    "name_problem",
    "resolve_name",
    "to_text",
]

MAX_LENGTH = 500
MAX_DEPTH = 20
MAX_RESULT_LENGTH = 4000

#: The names an expression (or an attribute rule) may read, besides ``extra.<key>``.
#: ``primary_org.path`` is the primary organisation's path from the root, joined by "/";
#: ``orgs.names`` and ``orgs.codes`` list every organisation of the account, joined by ",".
NAMES: tuple[str, ...] = (
    "id",
    "username",
    "display_name",
    "mobile",
    "email",
    "job_number",
    "title",
    "work_place",
    "hired_date",
    "status",
    "primary_org.id",
    "primary_org.name",
    "primary_org.code",
    "primary_org.path",
    "orgs.count",
    "orgs.names",
    "orgs.codes",
)

_KEYWORDS = frozenset({"and", "or", "not", "true", "false", "null"})
_CONSTANTS = {"true": True, "false": False, "null": None}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
_NAME_RE = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_OPERATORS = ("==", "!=", "+", "-", "(", ")", ",")


class ExpressionError(ValueError):
    """An expression that cannot be compiled or evaluated; ``column`` is 1-based.

    ``message`` is the problem in English; ``text`` is the whole error ("expression error at
    column 5: ...") as a structured text the console translates.
    """

    def __init__(self, problem: Msg | str, column: int) -> None:
        super().__init__(problem, column)
        self.message = str(problem)
        self.column = column
        self.text = Msg(
            N_("expression error at column %(column)s: %(problem)s"),
            {"column": column, "problem": problem},
        )

    def __str__(self) -> str:
        return str(self.text)


class _Failure(Exception):
    """A function refused its arguments; the caller adds the column."""

    def __init__(self, text: Msg) -> None:
        super().__init__(str(text))
        self.text = text


class _Unusable(TypeError):
    """A value that is not plain data, so no expression can use it."""

    def __init__(self, value: Any) -> None:
        self.text = Msg(N_("cannot use a value of type %(type)s"), {"type": type(value).__name__})
        super().__init__(str(self.text))


def _problem(exc: Exception) -> Msg | str:
    """What went wrong, structured when it is one of ours (Python's own words otherwise)."""
    return exc.text if isinstance(exc, (_Failure, _Unusable)) else str(exc)


# ---------------------------------------------------------------------------------------------
# Values


def to_text(value: Any) -> str:
    """The text form of a plain value, as ``+`` and text fields see it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.date):  # datetime too
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        try:
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError):  # something inside is not plain data
            raise _Unusable(value) from None
    raise _Unusable(value)


def is_empty(value: Any) -> bool:
    """Whether a value counts as missing: null, blank text, or an empty list or object."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict)):
        return not value
    return False


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return not is_empty(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _too_long() -> Msg:
    return Msg(N_("the result is longer than %(limit)s characters"), {"limit": MAX_RESULT_LENGTH})


def _limited(text: str) -> str:
    if len(text) > MAX_RESULT_LENGTH:
        raise _Failure(_too_long())
    return text


def _whole_number(value: Any, what: Msg) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        message = N_('%(what)s must be a whole number, got "%(value)s"')
        raise _Failure(Msg(message, {"what": what, "value": to_text(value)}))
    return value


# ---------------------------------------------------------------------------------------------
# Names


def name_problem(
    name: str, names: Collection[str] = NAMES, *, attribute: bool = False
) -> Msg | None:
    """Why ``name`` cannot be read, as a structured text, or None when it can.

    ``attribute``: the name is an attribute rule's source, so an unknown one is called an
    unknown attribute rather than an unknown name.
    """
    segments = name.split(".")
    if any(segment.startswith("_") for segment in segments):
        return Msg(N_('names starting with "_" are not allowed: "%(name)s"'), {"name": name})
    if name in names:
        return None
    if segments[0] == "extra":
        if len(segments) > 1 and all(segments[1:]):
            return None
        return Msg(N_('use extra.<key> or extra("key") to read an extra attribute'))
    candidates = [*names, "extra.<key>"]
    if attribute:
        hinted = N_('unknown attribute "%(name)s"; did you mean "%(suggestion)s"?')
        return _unknown(name, candidates, N_('unknown attribute "%(name)s"'), hinted)
    hinted = N_('unknown name "%(name)s"; did you mean "%(suggestion)s"?')
    return _unknown(name, candidates, N_('unknown name "%(name)s"'), hinted)


def resolve_name(context: Mapping[str, Any], name: str) -> Any:
    """The value of ``name`` in ``context``: a key lookup, never an attribute access.

    ``extra.a.b`` reads ``context["extra"]["a"]["b"]`` through plain mappings; a missing key
    (or a step into something that is not a mapping) gives None.
    """
    if not name.startswith("extra."):
        return context.get(name)
    current: Any = context.get("extra")
    for segment in name.split(".")[1:]:
        if not isinstance(current, Mapping):
            return None
        current = current.get(segment)
    return current


def _unknown(word: str, candidates: Sequence[str], plain: str, hinted: str) -> Msg:
    """``plain`` (a msgid with %(name)s), or ``hinted`` naming the closest candidate too."""
    close = difflib.get_close_matches(word, candidates, n=1)
    if close:
        return Msg(hinted, {"name": word, "suggestion": close[0]})
    return Msg(plain, {"name": word})


# ---------------------------------------------------------------------------------------------
# Functions


def _replace(text: Any, old: Any, new: Any) -> str:
    text, old, new = to_text(text), to_text(old), to_text(new)
    if not old:
        return text
    if len(text) + text.count(old) * (len(new) - len(old)) > MAX_RESULT_LENGTH:
        raise _Failure(_too_long())
    return text.replace(old, new)


def _left(text: Any, count: Any) -> str:
    n = _whole_number(count, Msg(N_("the count")))
    return to_text(text)[: max(n, 0)]


def _right(text: Any, count: Any) -> str:
    n, value = _whole_number(count, Msg(N_("the count"))), to_text(text)
    return value[len(value) - n :] if n > 0 else ""


def _substr(text: Any, start: Any, length: Any = None) -> str:
    begin = _whole_number(start, Msg(N_("the start")))
    if begin < 1:
        raise _Failure(Msg(N_("the start counts from 1")))
    value = to_text(text)[begin - 1 :]
    if length is None:
        return value
    return value[: max(_whole_number(length, Msg(N_("the length"))), 0)]


def _split_part(text: Any, separator: Any, index: Any) -> str:
    sep, position = to_text(separator), _whole_number(index, Msg(N_("the index")))
    if not sep:
        raise _Failure(Msg(N_("the separator is empty")))
    if position < 1:
        raise _Failure(Msg(N_("the index counts from 1")))
    parts = to_text(text).split(sep)
    return parts[position - 1] if position <= len(parts) else ""


def _coalesce(*values: Any) -> Any:
    return next((value for value in values if not is_empty(value)), None)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    text = to_text(value).strip()
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Failure(
            Msg(N_('"%(value)s" is not a date (use YYYY-MM-DD)'), {"value": text})
        ) from None


_DATE_TOKENS = re.compile(r"YYYY|YY|MM|DD")


def _date_format(value: Any, pattern: Any) -> str:
    day = _as_date(value)
    if day is None:
        return ""
    parts = {"YYYY": f"{day.year:04d}", "YY": f"{day.year % 100:02d}"}
    parts |= {"MM": f"{day.month:02d}", "DD": f"{day.day:02d}"}
    return _DATE_TOKENS.sub(lambda match: parts[match.group(0)], to_text(pattern))


@dataclass(frozen=True)
class _Function:
    """A whitelisted function: argument counts and its implementation."""

    min_args: int
    max_args: int | None
    impl: Callable[..., Any]
    summary: str


FUNCTIONS: dict[str, _Function] = {
    "lower": _Function(1, 1, lambda s: to_text(s).lower(), "lower(s): lower case"),
    "upper": _Function(1, 1, lambda s: to_text(s).upper(), "upper(s): upper case"),
    "trim": _Function(1, 1, lambda s: to_text(s).strip(), "trim(s): without outer spaces"),
    "concat": _Function(1, None, lambda *v: "".join(map(to_text, v)), "concat(a, b, ...)"),
    "coalesce": _Function(1, None, _coalesce, "coalesce(a, b, ...): first non-empty value"),
    "replace": _Function(3, 3, _replace, "replace(s, old, new)"),
    "left": _Function(2, 2, _left, "left(s, n): first n characters"),
    "right": _Function(2, 2, _right, "right(s, n): last n characters"),
    "substr": _Function(2, 3, _substr, "substr(s, start, length): start counts from 1"),
    "split_part": _Function(3, 3, _split_part, "split_part(s, sep, n): n-th part from 1"),
    "len": _Function(1, 1, lambda s: len(to_text(s)), "len(s): number of characters"),
    # if() evaluates only the branch it returns (see _Call.evaluate).
    "if": _Function(3, 3, lambda c, a, b: a if _truthy(c) else b, "if(condition, a, b)"),
    "date_format": _Function(2, 2, _date_format, 'date_format(d, "YYYY-MM-DD")'),
    # extra() reads the context (see _Call.evaluate): a literal key, no descent.
    "extra": _Function(1, 1, lambda key: key, 'extra("key"): an extra attribute'),
}


def _arity_message(name: str, spec: _Function, given: int) -> Msg:
    """E.g. "substr() takes 2 to 3 arguments, got 1"; one whole sentence per case."""
    args = {"function": name, "min": spec.min_args, "given": given}
    if spec.max_args is None:
        if spec.min_args == 1:
            return Msg(N_("%(function)s() takes at least %(min)s argument, got %(given)s"), args)
        return Msg(N_("%(function)s() takes at least %(min)s arguments, got %(given)s"), args)
    if spec.min_args == spec.max_args:
        if spec.min_args == 1:
            return Msg(N_("%(function)s() takes %(min)s argument, got %(given)s"), args)
        return Msg(N_("%(function)s() takes %(min)s arguments, got %(given)s"), args)
    args["max"] = spec.max_args
    return Msg(N_("%(function)s() takes %(min)s to %(max)s arguments, got %(given)s"), args)


# ---------------------------------------------------------------------------------------------
# Tree


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any
    column: int

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class _Name:
    name: str
    column: int

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        return resolve_name(context, self.name)


@dataclass(frozen=True, slots=True)
class _Concat:
    parts: tuple[Any, ...]
    column: int

    def evaluate(self, context: Mapping[str, Any]) -> str:
        try:
            texts = [to_text(part.evaluate(context)) for part in self.parts]
            return _limited("".join(texts))
        except (_Failure, TypeError) as exc:
            problem = Msg(N_("+: %(problem)s"), {"problem": _problem(exc)})
            raise ExpressionError(problem, self.column) from None


@dataclass(frozen=True, slots=True)
class _Compare:
    negate: bool
    left: Any
    right: Any
    column: int

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        a, b = self.left.evaluate(context), self.right.evaluate(context)
        try:
            equal = a == b if _is_number(a) and _is_number(b) else to_text(a) == to_text(b)
        except TypeError as exc:
            raise ExpressionError(_problem(exc), self.column) from None
        return equal != self.negate


@dataclass(frozen=True, slots=True)
class _Not:
    operand: Any
    column: int

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        return not _truthy(self.operand.evaluate(context))


@dataclass(frozen=True, slots=True)
class _Logical:
    is_and: bool
    parts: tuple[Any, ...]
    column: int

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        # Short-circuits like Python, but always gives a boolean.
        check = all if self.is_and else any
        return check(_truthy(part.evaluate(context)) for part in self.parts)


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    args: tuple[Any, ...]
    column: int

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        if self.name == "if":
            condition = _truthy(self.args[0].evaluate(context))
            return self.args[1 if condition else 2].evaluate(context)
        values = [arg.evaluate(context) for arg in self.args]
        try:
            if self.name == "extra":
                return _read_extra(context, values[0])
            result = FUNCTIONS[self.name].impl(*values)
            return _limited(result) if isinstance(result, str) else result
        except (_Failure, TypeError, ValueError) as exc:
            args = {"function": self.name, "problem": _problem(exc)}
            raise ExpressionError(
                Msg(N_("%(function)s(): %(problem)s"), args), self.column
            ) from None


def _read_extra(context: Mapping[str, Any], key: Any) -> Any:
    extra = context.get("extra")
    return extra.get(to_text(key)) if isinstance(extra, Mapping) else None


# ---------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "string", "number", "name", "op", "end"
    value: Any
    column: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        reader = _read_string if text[pos] in "'\"" else _read_word
        token, pos = reader(text, pos)
        tokens.append(token)
    tokens.append(_Token("end", None, len(text) + 1))
    return tokens


def _read_word(text: str, pos: int) -> tuple[_Token, int]:
    column = pos + 1
    if match := _NUMBER_RE.match(text, pos):
        raw = match.group(0)
        number = float(raw) if "." in raw else int(raw)
        return _Token("number", (number, raw), column), match.end()
    if match := _NAME_RE.match(text, pos):
        return _Token("name", match.group(0), column), match.end()
    for operator in _OPERATORS:
        if text.startswith(operator, pos):
            return _Token("op", operator, column), pos + len(operator)
    raise ExpressionError(Msg(N_('unexpected character "%(char)s"'), {"char": text[pos]}), column)


def _read_string(text: str, start: int) -> tuple[_Token, int]:
    quote, pos, chars = text[start], start + 1, []
    while pos < len(text):
        char = text[pos]
        if char == quote:
            return _Token("string", "".join(chars), start + 1), pos + 1
        if char == "\\":
            escaped = text[pos + 1 : pos + 2]
            if escaped not in _ESCAPES:
                problem = Msg(N_('unknown escape "%(escape)s" in text'), {"escape": "\\" + escaped})
                raise ExpressionError(problem, pos + 1)
            chars.append(_ESCAPES[escaped])
            pos += 2
            continue
        chars.append(char)
        pos += 1
    raise ExpressionError(Msg(N_("text is not closed: a quote is missing")), start + 1)


# ---------------------------------------------------------------------------------------------
# Parser


class _Parser:
    """Recursive descent over the tokens; checks names and functions as it goes."""

    def __init__(self, tokens: list[_Token], names: Collection[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.names = names
        self.used: set[str] = set()

    def parse(self) -> Any:
        node = self.disjunction()
        token = self.peek()
        if token.kind != "end":
            problem = Msg(N_("unexpected %(found)s"), {"found": _describe(token)})
            raise ExpressionError(problem, token.column)
        return node

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, kind: str, value: str) -> bool:
        token = self.peek()
        return token.kind == kind and token.value == value

    @contextmanager
    def nested(self, column: int) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            problem = Msg(N_("nested deeper than %(limit)s levels"), {"limit": MAX_DEPTH})
            raise ExpressionError(problem, column)
        yield
        self.depth -= 1

    def disjunction(self) -> Any:
        return self.logical("or", self.conjunction)

    def conjunction(self) -> Any:
        return self.logical("and", self.negation)

    def logical(self, word: str, operand: Callable[[], Any]) -> Any:
        column = self.peek().column
        parts = [operand()]
        while self.at("name", word):
            self.take()
            parts.append(operand())
        return parts[0] if len(parts) == 1 else _Logical(word == "and", tuple(parts), column)

    def negation(self) -> Any:
        if not self.at("name", "not"):
            return self.comparison()
        column = self.take().column
        with self.nested(column):
            return _Not(self.negation(), column)

    def comparison(self) -> Any:
        left = self.concatenation()
        if not (self.at("op", "==") or self.at("op", "!=")):
            return left
        operator = self.take()
        right = self.concatenation()
        if self.at("op", "==") or self.at("op", "!="):
            problem = Msg(N_("comparisons cannot be chained"))
            raise ExpressionError(problem, self.peek().column)
        return _Compare(operator.value == "!=", left, right, operator.column)

    def concatenation(self) -> Any:
        column = self.peek().column
        parts = [self.primary()]
        while self.at("op", "+"):
            self.take()
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else _Concat(tuple(parts), column)

    def primary(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return _Literal(token.value, token.column)
        if token.kind == "number":
            return _Literal(token.value[0], token.column)
        if token.kind == "op" and token.value == "-" and self.peek().kind == "number":
            return _Literal(-self.take().value[0], token.column)
        if token.kind == "op" and token.value == "(":
            return self.group(token)
        if token.kind == "name":
            return self.word(token)
        raise ExpressionError(_expected_value(token), token.column)

    def group(self, opening: _Token) -> Any:
        with self.nested(opening.column):
            node = self.disjunction()
        self.expect(")", opening)
        return node

    def expect(self, operator: str, opening: _Token) -> None:
        token = self.take()
        if token.kind != "op" or token.value != operator:
            message = N_(
                'expected "%(expected)s" for the "%(opening)s" at column %(column)s, '
                "found %(found)s"
            )
            args = {"expected": operator, "opening": opening.value, "column": opening.column}
            problem = Msg(message, {**args, "found": _describe(token)})
            raise ExpressionError(problem, token.column)

    def word(self, token: _Token) -> Any:
        if token.value in _CONSTANTS:
            return _Literal(_CONSTANTS[token.value], token.column)
        if token.value in _KEYWORDS:
            raise ExpressionError(_expected_value(token), token.column)
        if self.at("op", "("):
            return self.call(token)
        problem = name_problem(token.value, self.names)
        if problem:
            raise ExpressionError(problem, token.column)
        self.used.add(token.value)
        return _Name(token.value, token.column)

    def call(self, token: _Token) -> Any:
        spec = FUNCTIONS.get(token.value)
        if spec is None:
            plain = N_('unknown function "%(name)s"')
            hinted = N_('unknown function "%(name)s"; did you mean "%(suggestion)s"?')
            problem = _unknown(token.value, list(FUNCTIONS), plain, hinted)
            raise ExpressionError(problem, token.column)
        opening = self.take()
        with self.nested(token.column):
            args = self.arguments()
        self.expect(")", opening)
        too_many = spec.max_args is not None and len(args) > spec.max_args
        if len(args) < spec.min_args or too_many:
            raise ExpressionError(_arity_message(token.value, spec, len(args)), token.column)
        return _Call(token.value, tuple(args), token.column)

    def arguments(self) -> list[Any]:
        if self.at("op", ")"):
            return []
        args = [self.disjunction()]
        while self.at("op", ","):
            self.take()
            args.append(self.disjunction())
        return args


def _describe(token: _Token) -> Msg:
    """How an error message names the token it found."""
    if token.kind == "end":
        return Msg(N_("the end of the expression"))
    if token.kind == "string":
        return Msg(N_("a text"))
    shown = token.value[1] if token.kind == "number" else token.value
    return Msg(N_('"%(token)s"'), {"token": shown})


def _expected_value(token: _Token) -> Msg:
    return Msg(N_("expected a value, found %(found)s"), {"found": _describe(token)})


# ---------------------------------------------------------------------------------------------
# Public entry points


@dataclass(frozen=True)
class Expression:
    """A compiled expression: evaluate it against a context of plain values, many times."""

    text: str
    names: frozenset[str]
    _root: Any = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The expression's value for ``context`` (names to plain values, ``extra`` a mapping).

        Raises ExpressionError when a function refuses its arguments at run time or the result
        is too long.
        """
        value = self._root.evaluate(context)
        if isinstance(value, str) and len(value) > MAX_RESULT_LENGTH:
            raise ExpressionError(_too_long(), 1)
        return value


def compile_expression(text: str, *, names: Collection[str] = NAMES) -> Expression:
    """Parse and check ``text`` once; raises ExpressionError(message, column) when invalid.

    Unknown names (outside ``names`` and ``extra.*``), unknown functions and wrong argument
    counts are found here, before any account is evaluated.
    """
    if not isinstance(text, str):
        raise ExpressionError(Msg(N_("the expression must be text")), 1)
    if len(text) > MAX_LENGTH:
        message = N_("the expression is %(length)s characters long; at most %(limit)s allowed")
        raise ExpressionError(
            Msg(message, {"length": len(text), "limit": MAX_LENGTH}), MAX_LENGTH + 1
        )
    if not text.strip():
        raise ExpressionError(Msg(N_("the expression is empty")), 1)
    parser = _Parser(_tokenize(text), names)
    root = parser.parse()
    return Expression(text=text, names=frozenset(parser.used), _root=root)
