"""Structured texts of the mapping engine: English by str(), a msgid tree by as_dict().

Every message the engine and the expression language produce is one: the tables below reach
each marked msgid of mappings/engine.py and mappings/expressions.py, and no message there is
built from an f-string.
"""

import ast
import dataclasses
import json
from pathlib import Path

import pytest
from django.utils import translation

from connectors.dingtalk.fields import USER_FIELDS, FieldSpec
from dtconsole.sync import texts
from dtconsole.sync.texts import render
from mappings.defaults import DEFAULT_RULES
from mappings.engine import (
    FORBIDDEN_TARGETS,
    FieldError,
    Rule,
    SourceAccount,
    evaluate,
    validate_rules,
)
from mappings.expressions import FUNCTIONS, ExpressionError, compile_expression
from mappings.messages import N_, Msg, join_texts
from tests.test_mapping_engine import attr, const, expr
from tests.test_mapping_engine import make_account as engine_account


def quoted(value: str) -> Msg:
    return Msg('"%(value)s" is not an email address', {"value": value})


def test_n_marks_a_msgid_and_returns_it_unchanged():
    assert N_("%(field)s: %(problem)s") == "%(field)s: %(problem)s"


def test_a_text_renders_its_arguments_into_the_english_template():
    assert str(quoted("a@b")) == '"a@b" is not an email address'


def test_nested_texts_render_in_their_place():
    text = Msg("%(field)s: %(problem)s", {"field": "email", "problem": quoted("x")})
    assert str(text) == 'email: "x" is not an email address'


def test_a_text_without_arguments_is_its_msgid_even_with_a_percent_sign():
    assert str(Msg("100% sure")) == "100% sure"


def test_percent_signs_in_arguments_are_left_alone():
    assert str(quoted("50%off@example.com")) == '"50%off@example.com" is not an email address'


def test_as_dict_gives_nested_msgid_and_args_dicts():
    text = Msg("%(field)s: %(problem)s", {"field": "email", "problem": quoted("x")})
    assert text.as_dict() == {
        "msgid": "%(field)s: %(problem)s",
        "args": {
            "field": "email",
            "problem": {"msgid": '"%(value)s" is not an email address', "args": {"value": "x"}},
        },
    }


def test_the_consoles_render_shows_as_dict_as_the_english_text():
    text = Msg("%(field)s: %(problem)s", {"field": "email", "problem": quoted("x")})
    with translation.override("en"):
        assert render(**text.as_dict()) == str(text)


def test_a_text_is_frozen_and_keeps_its_own_copy_of_the_arguments():
    args = {"value": "a"}
    text = Msg('"%(value)s" is not an email address', args)
    args["value"] = "b"
    assert str(text) == '"a" is not an email address'
    with pytest.raises(AttributeError):
        text.msgid = "other"  # type: ignore[misc]


def test_equal_texts_are_equal_and_hash_alike():
    one = Msg("%(a)s %(b)s", {"a": 1, "b": quoted("x")})
    two = Msg("%(a)s %(b)s", {"b": quoted("x"), "a": 1})
    assert one == two
    assert hash(one) == hash(two)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_join_texts_lists_the_texts_separated_by_semicolons(count):
    texts = [quoted(f"v{i}") for i in range(count)]
    assert str(join_texts(texts)) == "; ".join(str(t) for t in texts)


def test_join_texts_nests_logarithmically_deep():
    def depth(value) -> int:
        if not isinstance(value, dict):
            return 0
        return 1 + max((depth(v) for v in value["args"].values()), default=0)

    assert depth(join_texts([quoted(str(i)) for i in range(64)]).as_dict()) == 7


def test_join_texts_refuses_an_empty_list():
    with pytest.raises(ValueError):
        join_texts([])


# ---------------------------------------------------------------------------------------------
# Every message the engine produces


ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "mappings" / "engine.py", ROOT / "mappings" / "expressions.py")
CONTEXT = {
    "username": "ZhangSan",
    "extra": {"obj": object(), "nested": [object()], "long": "x" * 3000},
}


def make_account(**overrides) -> SourceAccount:
    """The engine tests' account, with an extra attribute no expression can render."""
    fields = {"hired_date": None, "extra": {"obj": object()}, "primary_org": None, "orgs": ()}
    return engine_account(**{**fields, **overrides})


def expression_error(text, context=CONTEXT) -> ExpressionError:
    """The error compiling ``text`` raises, else the one evaluating it raises."""
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text).evaluate(context)
    return caught.value


def field_errors(*rules: Rule, account: SourceAccount | None = None, drop=()) -> list:
    """The errors of the default rules (less ``drop``) and ``rules``: static and evaluated."""
    rules = [*(rule for rule in DEFAULT_RULES if rule.target not in drop), *rules]
    result = evaluate(rules, account or make_account(), creating=True)
    errors = [*validate_rules(rules), *result.errors]
    assert errors, rules
    return errors


COMPILE_ERRORS = [
    "lower(username",
    "username +",
    "username username",
    'username "x"',
    "username 12",
    '"open',
    r'"bad \q escape"',
    "username ; 1",
    '"a" == "b" == "c"',
    "and",
    "lowr(username)",
    "zzzzzz(1)",
    "lower(username, 1)",
    "replace(username)",
    "substr(username)",
    "concat()",
    "usrname",
    "qqqqqqq",
    "extra",
    "extra._secret",
    "",
    "(" * 21 + "1" + ")" * 21,
    '"' + "a" * 500 + '"',
    None,
]
RUN_TIME_ERRORS = [
    'left(username, "x")',
    'substr(username, "x")',
    'substr(username, 1, "x")',
    'split_part(username, ",", "x")',
    "substr(username, 0, 1)",
    'split_part(username, "", 1)',
    'split_part(username, ",", 0)',
    'date_format(username, "YYYY")',
    "extra.long + extra.long",
    "concat(extra.long, extra.long)",
    'replace(extra.long, "x", "xx")',
    '"x" + extra.obj',
    'extra.obj == "a"',
    "lower(extra.nested)",
]
BAD_RULES = [
    attr("title", "titel"),
    attr("remark", "qqqqqq"),
    attr("remark", ""),
    attr("remark", "extra._secret"),
    expr("remark", "lower(username"),
    expr("telephone", 'left(username, "x")'),  # fails on evaluation: a target of its own
    attr("work_place", "extra.obj"),
    const("work_plce", "x"),
    const("zzzzzzzz", "x"),
    *[const(target, "x") for target in FORBIDDEN_TARGETS],
    attr("userid", "username"),
    Rule(target="remark", source_kind="python", source="x"),
    const("remark", "x", apply="sometimes"),
    const("", "x", is_extension=True),
    const(" remark", "x"),
    const("title", "t" * 201),
    attr("mobile", "extra.mobile", default="12345"),
    const("email", "zhangsan"),
    const("org_email_type", "gold"),
    const("hide_mobile", "maybe"),
    attr("hired_date", "extra.obj", default="soon"),
    const("login_email", "x@example.com", apply="create_only"),
    const("login_email", "twice@example.com"),  # mapped more than once
]


def expression_cases() -> list[ExpressionError]:
    too_long = expression_error("extra.huge", {"extra": {"huge": "y" * 4001}})
    return [*(expression_error(text) for text in COMPILE_ERRORS + RUN_TIME_ERRORS), too_long]


def rule_cases() -> list[FieldError]:
    """Field errors that together reach every field-level message."""
    account = make_account(extra={"obj": object(), "day": "1960-01-01"})
    return [
        *field_errors(*BAD_RULES),
        *field_errors(attr("hired_date", "extra.day"), account=account),
        *field_errors(drop={"mobile"}),
        *field_errors(account=make_account(mobile="")),
        *field_errors(*[const(f"k{i}", "v" * 150, is_extension=True) for i in range(14)]),
    ]


def english(error: FieldError | ExpressionError) -> str:
    return error.message if isinstance(error, FieldError) else str(error)


def assert_text_is_the_message(error: FieldError | ExpressionError) -> None:
    """``error.text`` renders as the English message, by itself and through the console."""
    assert str(error.text) == english(error)
    tree = error.text.as_dict()
    json.dumps(tree)  # storable as a sync event's arguments
    with translation.override("en"):
        assert render(**tree) == english(error)
    if isinstance(error, ExpressionError):
        assert str(error.text.args["problem"]) == error.message
        assert error.text.args["column"] == error.column


@pytest.mark.parametrize("text", COMPILE_ERRORS + RUN_TIME_ERRORS)
def test_every_expression_error_has_a_text_that_renders_as_its_message(text):
    assert_text_is_the_message(expression_error(text))


def test_a_result_too_long_read_as_is_has_a_text_that_renders_as_its_message():
    assert_text_is_the_message(expression_cases()[-1])


def test_every_field_error_has_a_text_that_renders_as_its_message():
    errors = rule_cases()
    assert len(errors) > len(BAD_RULES)
    for error in errors:
        assert_text_is_the_message(error)


def test_a_field_error_names_the_field_as_an_argument_of_its_text():
    error = field_errors(const("email", "zhangsan"))[0]
    assert error.text.msgid == "%(field)s: %(problem)s"
    assert error.text.args["field"] == "email"
    problem = Msg('"%(value)s" is not an email address', {"value": "zhangsan"})
    assert error.text.args["problem"] == Msg(
        "the constant is invalid: %(problem)s", {"problem": problem}
    )


def test_values_are_arguments_never_part_of_the_msgid():
    error = expression_error("usrname")
    assert error.text.as_dict()["args"]["problem"] == {
        "msgid": 'unknown name "%(name)s"; did you mean "%(suggestion)s"?',
        "args": {"name": "usrname", "suggestion": "username"},
    }


def test_every_level_of_a_text_goes_through_the_catalogue(monkeypatch):
    monkeypatch.setattr(texts, "gettext", lambda msgid: "<" + msgid + ">")
    error = field_errors(expr("remark", "lowr(username)"))[0]
    assert render(**error.text.as_dict()) == (
        '<remark: <expression error at column 1: <unknown function "lowr"; did you mean "lower"?>>>'
    )


def test_a_field_error_built_by_hand_gets_its_message_as_an_untranslated_text():
    error = FieldError("remark", "remark: 100% wrong")
    assert error.text == Msg("remark: 100% wrong")
    assert error == FieldError("remark", "remark: 100% wrong", Msg("%(x)s", {"x": "other"}))


def test_an_expression_error_built_from_plain_text_keeps_it_as_the_problem():
    error = ExpressionError("something odd", 3)
    assert str(error) == "expression error at column 3: something odd"
    assert error.text.as_dict()["args"] == {"column": 3, "problem": "something odd"}


# Sites the shipped catalogue and function table cannot reach; each is driven by a stand-in.


def unmappable_type_error(monkeypatch) -> FieldError:
    spec = FieldSpec(name="test_only_list", type="object[]")
    monkeypatch.setitem(USER_FIELDS, spec.name, spec)
    error = field_errors(const(spec.name, "x"))[0]
    assert error.message == "test_only_list: cannot be mapped: its DingTalk type is object[]"
    return error


def at_least_two_arguments_error(monkeypatch) -> ExpressionError:
    monkeypatch.setitem(FUNCTIONS, "concat", dataclasses.replace(FUNCTIONS["concat"], min_args=2))
    error = expression_error("concat(username)")
    assert error.message == "concat() takes at least 2 arguments, got 1"
    return error


def test_a_field_of_an_unmappable_type_is_an_error_with_a_text(monkeypatch):
    assert_text_is_the_message(unmappable_type_error(monkeypatch))


def test_a_function_taking_at_least_two_arguments_says_so_with_a_text(monkeypatch):
    assert_text_is_the_message(at_least_two_arguments_error(monkeypatch))


def marked_msgids(path: Path) -> set[str]:
    """Every literal passed to N_ in ``path``."""
    return {
        node.args[0].value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "N_"
        and isinstance(node.args[0], ast.Constant)
    }


def msgids_of(tree: dict) -> set[str]:
    found = {tree["msgid"]}
    for value in tree["args"].values():
        if isinstance(value, dict):
            found |= msgids_of(value)
    return found


def test_the_tables_reach_every_marked_message_of_the_engine(monkeypatch):
    errors = [*expression_cases(), *rule_cases()]
    errors += [unmappable_type_error(monkeypatch), at_least_two_arguments_error(monkeypatch)]
    reached = set().union(*(msgids_of(error.text.as_dict()) for error in errors))
    marked = set().union(*(marked_msgids(path) for path in SOURCES))
    assert len(marked) > 60
    assert marked - reached == set()


MESSAGE_BUILDERS = {"FieldError", "ExpressionError", "_Invalid", "_Failure", "_error", "Msg"}


def built_from_text(node: ast.expr) -> bool:
    """Whether ``node`` makes a message by hand: an f-string, a literal, a join or format."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value != ""
    if isinstance(node, ast.BinOp):
        return built_from_text(node.left) or built_from_text(node.right)
    return isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {"format", "join"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_no_message_is_built_from_an_f_string_or_unmarked_text(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            calls = [node.exc]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in MESSAGE_BUILDERS:
            calls = [node]
        else:
            continue
        for call in calls:
            args = call.args
            if getattr(call.func, "id", "") in {"FieldError", "_error"}:
                args = args[1:]  # the first is the field's identity, not a message
            for arg in [*args, *(keyword.value for keyword in call.keywords)]:
                if built_from_text(arg):
                    wrong.append(f"line {arg.lineno}: {ast.unparse(arg)[:60]}")
    assert not wrong, "messages built by hand:\n  " + "\n  ".join(wrong)
