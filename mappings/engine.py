"""The field-mapping engine: from one source account to a DingTalk user payload.

Pure: no Django, no dtconsole, no I/O. The sync engine builds ``SourceAccount`` values from the
directory, the provider pages build ``Rule`` values from the saved FieldMapping rows, and both
call ``evaluate`` (per account) or ``validate_rules`` (when a mapping is edited). The DingTalk
field catalogue (``connectors.dingtalk.fields``) supplies field types, maximum lengths, which
fields are required on create and which are immutable.

Every error is a ``FieldError`` whose message starts with the field identity that failed,
e.g. ``mobile: expression error at column 7: unknown function "lowr"``. Its ``text`` is the
same message as a structured text (``mappings.messages.Msg``) the console translates.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from connectors.dingtalk.fields import USER_FIELDS, is_known_user_field, user_field

from .expressions import (
    NAMES,
    Expression,
    ExpressionError,
    compile_expression,
    is_empty,
    name_problem,
    resolve_name,
    to_text,
)
from .messages import N_, Msg

__all__ = [
    "ATTRIBUTES",
    "FORBIDDEN_TARGETS",
    "REQUIRED_ON_CREATE",
    "FieldError",
    "MappingResult",
    "Rule",
    "SourceAccount",
    "SourceOrg",
    "account_context",
    "evaluate",
    "serialize_extension",
    "validate_rules",
]

#: The attribute names a rule may read (the page's select); ``extra.<key>`` is also allowed.
ATTRIBUTES: tuple[str, ...] = NAMES

#: DingTalk user fields a mapping must not set, and why. The sync engine owns departments
#: (from memberships) and the update controls; enterprise-account fields and passwords are
#: out of scope; custom attributes are separate extension rules, collected into `extension`.
#: Each reason is a msgid (English, marked for the catalogue).
FORBIDDEN_TARGETS: dict[str, str] = {
    "dept_id_list": N_("set by the sync engine from the account's memberships"),
    "dept_order_list": N_("set by the sync engine from the account's memberships"),
    "dept_title_list": N_("set by the sync engine from the account's memberships"),
    "dept_position_list": N_("set by the sync engine from the account's memberships"),
    "extension": N_("map each custom attribute as its own extension field instead"),
    "extension_i18n": N_("not supported by field mappings"),
    "ext_attrs_update_mode": N_("controlled by the sync engine"),
    "force_update_fields": N_("controlled by the sync engine"),
    "exclusive_account": N_("enterprise (exclusive) accounts are not supported"),
    "exclusive_account_type": N_("enterprise (exclusive) accounts are not supported"),
    "login_id": N_("enterprise (exclusive) accounts are not supported"),
    "init_password": N_("passwords are never part of a field mapping"),
}

#: Field types the engine can produce; other types (lists, objects, numbers) are not mappable.
_MAPPABLE_TYPES = frozenset({"string", "boolean", "millis"})

#: Fields DingTalk requires to create a user that a mapping provides (dept_id_list comes
#: from the sync engine).
REQUIRED_ON_CREATE: tuple[str, ...] = tuple(
    spec.name
    for spec in USER_FIELDS.values()
    if spec.required_on_create and spec.name not in FORBIDDEN_TARGETS
)

_EXTENSION_SPEC = user_field("extension")
_EXTENSION_MAX: int = (_EXTENSION_SPEC.max_length if _EXTENSION_SPEC else None) or 2000

# The same shapes as dtconsole.directory.validators (which this pure module cannot import):
# mainland 11 digits starting 13-19, or DingTalk's "+<country code>-<number>"; +86 must
# then be a mainland number.
_MAINLAND_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_INTERNATIONAL_MOBILE_RE = re.compile(r"^\+(\d{1,4})-(\d{4,15})$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_EMAIL_FIELDS = frozenset({"email", "org_email", "login_email"})
_CHOICES = {"org_email_type": ("profession", "base")}
_TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "n", "off"})

# hired_date is sent as epoch milliseconds of the date at 00:00 in Asia/Shanghai, the
# timezone DingTalk shows dates in. A fixed +08:00 keeps the engine free of tz database
# reads; China has had no daylight saving since 1991, and for older summer dates the hour
# of difference still lands on the same calendar day.
_SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class SourceOrg:
    """An organisation of the directory, as plain data."""

    id: int
    name: str
    code: str | None
    path_names: tuple[str, ...]  # names from the root down to this organisation


@dataclass(frozen=True)
class SourceAccount:
    """An account of the directory, as plain data (built by the sync engine)."""

    id: int
    username: str
    display_name: str
    mobile: str
    email: str
    job_number: str
    title: str
    work_place: str
    hired_date: dt.date | None
    status: str
    extra: Mapping[str, Any]
    primary_org: SourceOrg | None
    orgs: tuple[SourceOrg, ...]


@dataclass(frozen=True)
class Rule:
    """One field mapping row: where a DingTalk field's value comes from.

    ``target`` is the DingTalk field identity ("name", "work_place") or, with
    ``is_extension``, a key of the user's ``extension`` object. ``source`` is an attribute
    name (see ``ATTRIBUTES``), expression text or a constant, per ``source_kind``.
    """

    target: str
    source_kind: Literal["attribute", "expression", "constant"]
    source: str
    apply: Literal["always", "create_only"] = "always"
    default: str = ""
    is_extension: bool = False
    display_name: str = ""


@dataclass(frozen=True)
class FieldError:
    """A problem with one field; ``message`` starts with the field identity.

    ``text`` is the message as a structured text: ``str(text) == message``, and the console
    shows ``text.as_dict()`` in the reader's language. An error built by hand without one gets
    its message as an untranslated text. Errors compare by target and message only.
    """

    target: str
    message: str
    text: Msg = field(default=Msg(""), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.text.msgid:
            object.__setattr__(self, "text", Msg(self.message))


@dataclass(frozen=True)
class MappingResult:
    """The payload for DingTalk's user create/update plus the errors found on the way.

    ``payload`` holds only the fields that mapped cleanly; do not send it unless ``ok``.
    """

    payload: dict[str, Any]
    errors: tuple[FieldError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Invalid(Exception):
    """A value DingTalk would refuse; the message does not yet name the field."""

    def __init__(self, text: Msg) -> None:
        super().__init__(str(text))
        self.text = text


# ---------------------------------------------------------------------------------------------
# Context


def account_context(account: SourceAccount) -> dict[str, Any]:
    """The plain values expressions and attribute rules read, keyed by ``ATTRIBUTES`` names."""
    primary = account.primary_org
    context: dict[str, Any] = {
        "id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "mobile": account.mobile,
        "email": account.email,
        "job_number": account.job_number,
        "title": account.title,
        "work_place": account.work_place,
        "hired_date": account.hired_date,
        "status": account.status,
        "primary_org.id": primary.id if primary else None,
        "primary_org.name": primary.name if primary else None,
        "primary_org.code": primary.code if primary else None,
        "primary_org.path": "/".join(primary.path_names) if primary else None,
        "orgs.count": len(account.orgs),
        "orgs.names": ",".join(org.name for org in account.orgs),
        "orgs.codes": ",".join(org.code for org in account.orgs if org.code),
        "extra": account.extra,
    }
    return context


# ---------------------------------------------------------------------------------------------
# Static checks


def validate_rules(rules: Sequence[Rule]) -> tuple[FieldError, ...]:
    """Problems visible without an account: sources, targets, duplicates, constants, defaults.

    Also reports a required-on-create field (name, mobile) that no rule maps.
    """
    errors = [error for _, error in _rule_errors(rules)]
    mapped = {rule.target for rule in rules if not rule.is_extension}
    for target in REQUIRED_ON_CREATE:
        if target not in mapped:
            message = N_("DingTalk requires this field to create a user; add a rule for it")
            errors.append(_error(target, Msg(message)))
    return tuple(errors)


def _rule_errors(rules: Sequence[Rule]) -> list[tuple[int, FieldError]]:
    """(row index, error) for each rule with a problem; later duplicates are the problem."""
    found: list[tuple[int, FieldError]] = []
    first_row: dict[str, int] = {}
    for index, rule in enumerate(rules):
        message = _check_rule(rule)
        if message is None and rule.target in first_row:
            rows = {"first": first_row[rule.target] + 1, "second": index + 1}
            message = Msg(N_("mapped more than once (rows %(first)s and %(second)s)"), rows)
        first_row.setdefault(rule.target, index)
        if message is not None:
            found.append((index, _error(rule.target, message)))
    return found


@lru_cache(maxsize=1024)
def _check_rule(rule: Rule) -> Msg | None:
    """The first problem of one rule on its own, or None."""
    problem = _check_target(rule) or _check_kind(rule) or _check_source(rule)
    if problem:
        return problem
    checks = (
        (N_("the constant is invalid: %(problem)s"), _constant(rule)),
        (N_("the default is invalid: %(problem)s"), rule.default),
    )
    for message, value in checks:
        if value and not is_empty(value):
            try:
                _wire_value(rule, value)
            except _Invalid as exc:
                return Msg(message, {"problem": exc.text})
    return None


def _check_target(rule: Rule) -> Msg | None:
    target = rule.target
    if not target or target != target.strip():
        return Msg(N_("the field identity is empty or has spaces around it"))
    if rule.is_extension:
        return None
    if target in FORBIDDEN_TARGETS:
        reason = Msg(FORBIDDEN_TARGETS[target])
        return Msg(N_("cannot be mapped: %(reason)s"), {"reason": reason})
    spec = user_field(target)
    if spec is None or not is_known_user_field(target):
        return _not_a_user_field(target)
    if spec.type not in _MAPPABLE_TYPES:
        return Msg(N_("cannot be mapped: its DingTalk type is %(type)s"), {"type": spec.type})
    if not spec.updatable and rule.apply != "create_only":
        message = N_(
            "DingTalk never changes this field after creation; apply the rule on create only"
        )
        return Msg(message)
    return None


def _not_a_user_field(target: str) -> Msg:
    close = difflib.get_close_matches(target, [*USER_FIELDS], n=1)
    if not close:
        plain = N_("not a DingTalk user field; mark it as an extension field if it is custom")
        return Msg(plain)
    hinted = N_(
        'not a DingTalk user field (did you mean "%(suggestion)s"?); '
        "mark it as an extension field if it is custom"
    )
    return Msg(hinted, {"suggestion": close[0]})


def _check_kind(rule: Rule) -> Msg | None:
    if rule.source_kind not in ("attribute", "expression", "constant"):
        return Msg(N_('unknown source kind "%(kind)s"'), {"kind": rule.source_kind})
    if rule.apply not in ("always", "create_only"):
        return Msg(N_('unknown apply mode "%(mode)s"'), {"mode": rule.apply})
    return None


def _check_source(rule: Rule) -> Msg | None:
    if rule.source_kind == "attribute":
        return _check_attribute(rule.source)
    if rule.source_kind == "expression":
        try:
            _compiled(rule.source)
        except ExpressionError as exc:
            return exc.text
    return None


def _check_attribute(name: str) -> Msg | None:
    if not name:
        return Msg(N_("no attribute chosen"))
    return name_problem(name, attribute=True)


@lru_cache(maxsize=512)
def _compiled(text: str) -> Expression:
    return compile_expression(text)


def _constant(rule: Rule) -> str:
    return rule.source if rule.source_kind == "constant" else ""


def _error(target: str, problem: Msg) -> FieldError:
    """The error of ``target``: its message names the field first."""
    field_name = target or Msg(N_("(no field identity)"))
    text = Msg(N_("%(field)s: %(problem)s"), {"field": field_name, "problem": problem})
    return FieldError(target, str(text), text)


# ---------------------------------------------------------------------------------------------
# Evaluation


def evaluate(rules: Sequence[Rule], account: SourceAccount, *, creating: bool) -> MappingResult:
    """Map ``account`` through ``rules`` into a DingTalk user create (or update) payload.

    ``create_only`` rules are skipped on update. Empty values fall back to the rule's default
    and are omitted when still empty. Extension rules are gathered into
    ``payload["extension"]`` (a dict; the client serialises it, see ``serialize_extension``).
    Rules with static problems are reported and skipped.
    """
    context = account_context(account)
    broken = _rule_errors(rules)
    skip = {index for index, _ in broken}
    errors = [error for _, error in broken]
    payload: dict[str, Any] = {}
    extension: dict[str, str] = {}
    for index, rule in enumerate(rules):
        if index in skip or (rule.apply == "create_only" and not creating):
            continue
        try:
            value = _rule_value(rule, context)
        except (ExpressionError, _Invalid) as exc:
            errors.append(_error(rule.target, exc.text))
            continue
        if value is not None:
            (extension if rule.is_extension else payload)[rule.target] = value
    _add_extension(payload, extension, errors)
    if creating:
        errors.extend(_missing_on_create(rules, payload, errors))
    return MappingResult(payload=payload, errors=tuple(errors))


def _rule_value(rule: Rule, context: Mapping[str, Any]) -> Any:
    """The wire value of one rule, or None when empty (omitted)."""
    value = _read(rule, context)
    if is_empty(value) and not is_empty(rule.default):
        value = rule.default
    if is_empty(value):
        return None
    return _wire_value(rule, value)


def _read(rule: Rule, context: Mapping[str, Any]) -> Any:
    if rule.source_kind == "attribute":
        return resolve_name(context, rule.source)
    if rule.source_kind == "expression":
        return _compiled(rule.source).evaluate(context)
    return rule.source


def _add_extension(
    payload: dict[str, Any], extension: dict[str, str], errors: list[FieldError]
) -> None:
    if not extension:
        return
    size = len(serialize_extension(extension))
    if size > _EXTENSION_MAX:
        message = N_(
            "the custom attributes (%(keys)s) take %(size)s characters as JSON; "
            "DingTalk accepts at most %(limit)s"
        )
        args = {"keys": ", ".join(extension), "size": size, "limit": _EXTENSION_MAX}
        errors.append(_error("extension", Msg(message, args)))
        return
    payload["extension"] = extension


def serialize_extension(extension: Mapping[str, str]) -> str:
    """The JSON text of ``extension`` as measured against DingTalk's 2000-character limit.

    Compact and not ASCII-escaped: the client should send it the same way.
    """
    return json.dumps(extension, ensure_ascii=False, separators=(",", ":"))


def _missing_on_create(
    rules: Sequence[Rule], payload: Mapping[str, Any], errors: Sequence[FieldError]
) -> list[FieldError]:
    """Errors for required-on-create fields that ended up without a value."""
    failed = {error.target for error in errors}
    mapped = {rule.target for rule in rules if not rule.is_extension}
    missing = []
    for target in REQUIRED_ON_CREATE:
        if target in payload or target in failed:
            continue
        if target in mapped:
            message = N_(
                "DingTalk requires a value to create a user, but the mapped value is empty"
            )
        else:
            message = N_("DingTalk requires a value to create a user, but no rule maps this field")
        missing.append(_error(target, Msg(message)))
    return missing


# ---------------------------------------------------------------------------------------------
# Wire values


def _wire_value(rule: Rule, value: Any) -> Any:
    """Convert a non-empty value to what DingTalk expects for the rule's field, or raise."""
    spec = None if rule.is_extension else user_field(rule.target)
    kind = spec.type if spec else "string"
    if kind == "boolean":
        return _to_bool(value)
    if kind == "millis":
        return _to_millis(value)
    text = _text(value).strip()
    if spec is None:
        return text
    if spec.max_length is not None and len(text) > spec.max_length:
        message = N_(
            '%(length)s characters; DingTalk accepts at most %(limit)s (value starts "%(start)s")'
        )
        args = {"length": len(text), "limit": spec.max_length, "start": text[:20]}
        raise _Invalid(Msg(message, args))
    _check_format(spec.name, text)
    return text


def _text(value: Any) -> str:
    try:
        return to_text(value)
    except TypeError as exc:
        raise _Invalid(_type_problem(exc)) from None


def _type_problem(exc: TypeError) -> Msg:
    """to_text's refusal as a text (its TypeError carries one)."""
    text = getattr(exc, "text", None)
    return text if isinstance(text, Msg) else Msg(str(exc))


def _check_format(name: str, text: str) -> None:
    if name == "mobile" and not _is_mobile(text):
        message = N_(
            '"%(value)s" is not a mobile number DingTalk accepts: use 11 digits starting '
            "13 to 19 (13800138000) or +country code-number (+852-61234567)"
        )
        raise _Invalid(Msg(message, {"value": text}))
    if name in _EMAIL_FIELDS and not _EMAIL_RE.match(text):
        raise _Invalid(Msg(N_('"%(value)s" is not an email address'), {"value": text}))
    choices = _CHOICES.get(name)
    if choices and text not in choices:
        args = {"value": text, "choices": ", ".join(choices)}
        raise _Invalid(Msg(N_('"%(value)s" is not one of %(choices)s'), args))


def _is_mobile(text: str) -> bool:
    if _MAINLAND_MOBILE_RE.match(text):
        return True
    match = _INTERNATIONAL_MOBILE_RE.match(text)
    if not match:
        return False
    return match.group(1) != "86" or bool(_MAINLAND_MOBILE_RE.match(match.group(2)))


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = _text(value).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise _Invalid(Msg(N_('"%(value)s" is not true or false'), {"value": word}))


def _to_millis(value: Any) -> int:
    """Epoch milliseconds: ints pass through; dates are taken at 00:00 Asia/Shanghai."""
    if isinstance(value, int) and not isinstance(value, bool):
        millis = value
    else:
        moment = _to_datetime(value)
        millis = int(moment.timestamp() * 1000)
    if millis < 1:  # DingTalk's SDK refuses hired_date < 1
        raise _Invalid(Msg(N_("DingTalk accepts dates after 1970-01-01 only")))
    return millis


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        text = _text(value).strip()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            message = N_('"%(value)s" is not a date (use YYYY-MM-DD)')
            raise _Invalid(Msg(message, {"value": text})) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_SHANGHAI)
