"""The field-mapping engine: from a source account to a DingTalk user payload, with errors."""

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from mappings.defaults import DEFAULT_MATCH_KEYS, DEFAULT_RULES
from mappings.engine import (
    ATTRIBUTES,
    FieldError,
    MappingResult,
    Rule,
    SourceAccount,
    SourceOrg,
    account_context,
    evaluate,
    serialize_extension,
    validate_rules,
)

ROOT = Path(__file__).resolve().parent.parent
SALES = SourceOrg(id=3, name="Sales", code="S01", path_names=("ACME", "Sales"))
SUPPORT = SourceOrg(id=4, name="Support", code=None, path_names=("ACME", "Support"))


def make_account(**overrides) -> SourceAccount:
    fields = {
        "id": 7,
        "username": "zhangsan",
        "display_name": "张三",
        "mobile": "13800138000",
        "email": "zhangsan@example.com",
        "job_number": "E0042",
        "title": "Engineer",
        "work_place": "Hangzhou",
        "hired_date": dt.date(2024, 1, 1),
        "status": "active",
        "extra": {"badge": "B12", "desk": "3F-12", "vip": "yes", "note": "hello"},
        "primary_org": SALES,
        "orgs": (SALES, SUPPORT),
    }
    return SourceAccount(**{**fields, **overrides})


def attr(target: str, source: str, **kw) -> Rule:
    return Rule(target=target, source_kind="attribute", source=source, **kw)


def expr(target: str, source: str, **kw) -> Rule:
    return Rule(target=target, source_kind="expression", source=source, **kw)


def const(target: str, source: str, **kw) -> Rule:
    return Rule(target=target, source_kind="constant", source=source, **kw)


def create(*extra_rules: Rule, account: SourceAccount | None = None) -> MappingResult:
    return evaluate((*DEFAULT_RULES, *extra_rules), account or make_account(), creating=True)


def only_error(result: MappingResult) -> FieldError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


# ---------------------------------------------------------------------------------------------
# Defaults


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("name", "张三"),
        ("mobile", "13800138000"),
        ("email", "zhangsan@example.com"),
        ("title", "Engineer"),
        ("job_number", "E0042"),
        ("userid", "zhangsan"),
    ],
)
def test_the_default_rules_map_every_default_field(target, expected):
    result = create()
    assert result.ok
    assert result.payload[target] == expected


def test_the_default_rules_are_valid_and_send_only_their_fields():
    assert validate_rules(DEFAULT_RULES) == ()
    fields = {"name", "mobile", "email", "title", "job_number", "userid"}
    assert set(create().payload) == fields


def test_the_default_userid_rule_applies_on_create_only():
    (userid,) = [rule for rule in DEFAULT_RULES if rule.target == "userid"]
    assert userid.apply == "create_only"
    assert "userid" not in evaluate(DEFAULT_RULES, make_account(), creating=False).payload


def test_the_default_match_keys_put_userid_first():
    assert DEFAULT_MATCH_KEYS == ("userid", "mobile", "email", "job_number")


# ---------------------------------------------------------------------------------------------
# Sources and custom fields


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (attr("work_place", "work_place"), "Hangzhou"),
        (attr("remark", "extra.note"), "hello"),
        (attr("telephone", "extra.desk"), "3F-12"),
        (attr("remark", "primary_org.path"), "ACME/Sales"),
        (attr("remark", "primary_org.code"), "S01"),
        (attr("remark", "orgs.names"), "Sales,Support"),
        (attr("remark", "orgs.count"), "2"),
        (attr("remark", "id"), "7"),
        (expr("remark", 'upper(username) + "@" + primary_org.name'), "ZHANGSAN@Sales"),
        (expr("work_place", 'date_format(hired_date, "YYYY") + " " + work_place'), "2024 Hangzhou"),
        (const("work_place", "Head office"), "Head office"),
        (const("work_place", "  padded  "), "padded"),
        (attr("manager_userid", "extra.badge"), "B12"),
        (const("org_email_type", "base"), "base"),
    ],
)
def test_attribute_expression_and_constant_sources_fill_custom_fields(rule, expected):
    result = create(rule)
    assert result.ok, result.errors
    assert result.payload[rule.target] == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (attr("hired_date", "hired_date"), 1704038400000),  # 2024-01-01T00:00+08:00
        (const("hired_date", "2024-01-01"), 1704038400000),
        (const("hired_date", "2024-01-01T08:00:00+08:00"), 1704067200000),
        (expr("hired_date", "1704038400000"), 1704038400000),
    ],
)
def test_hired_date_is_sent_as_epoch_milliseconds_of_midnight_in_shanghai(rule, expected):
    assert create(rule).payload["hired_date"] == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [("true", True), ("yes", True), ("1", True), ("false", False), ("off", False)],
)
def test_boolean_fields_are_sent_as_booleans(source, expected):
    assert create(const("hide_mobile", source)).payload["hide_mobile"] is expected


def test_an_expression_returning_a_boolean_fills_a_boolean_field():
    result = create(expr("senior_mode", 'extra.vip == "yes"'))
    assert result.payload["senior_mode"] is True


def test_extension_rules_are_collected_into_the_extension_object():
    rules = (
        attr("badge", "extra.badge", is_extension=True),
        expr("部门路径", "primary_org.path", is_extension=True),
        const("level", "3", is_extension=True),
        attr("empty", "extra.missing", is_extension=True),
    )
    result = create(*rules)
    assert result.ok
    assert result.payload["extension"] == {"badge": "B12", "部门路径": "ACME/Sales", "level": "3"}


def test_no_extension_object_is_sent_when_there_are_no_extension_values():
    assert "extension" not in create(attr("badge", "extra.missing", is_extension=True)).payload


def test_an_extension_key_may_share_a_name_with_nothing_in_dingtalk():
    assert validate_rules((*DEFAULT_RULES, const("cost_center", "x", is_extension=True))) == ()


# ---------------------------------------------------------------------------------------------
# Create only, defaults, empty values


def test_create_only_rules_are_skipped_on_update():
    rules = (*DEFAULT_RULES, const("work_place", "Office", apply="create_only"))
    assert evaluate(rules, make_account(), creating=True).payload["work_place"] == "Office"
    assert "work_place" not in evaluate(rules, make_account(), creating=False).payload


def test_required_fields_are_not_demanded_on_update():
    result = evaluate(DEFAULT_RULES, make_account(mobile="", display_name=""), creating=False)
    assert result.ok
    assert "mobile" not in result.payload


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (attr("work_place", "work_place", default="Remote"), "Remote"),
        (attr("title", "title", default="Staff"), "Staff"),
        (expr("remark", "extra.missing", default="n/a"), "n/a"),
        (attr("hired_date", "hired_date", default="2020-01-01"), 1577808000000),
        (attr("badge", "extra.missing", default="none", is_extension=True), None),
    ],
)
def test_the_default_is_used_when_the_value_is_empty(rule, expected):
    account = make_account(work_place="  ", title="", hired_date=None)
    rules = [r for r in DEFAULT_RULES if r.target != rule.target] + [rule]
    result = evaluate(rules, account, creating=True)
    assert result.ok, result.errors
    if rule.is_extension:
        assert result.payload["extension"] == {"badge": "none"}
    else:
        assert result.payload[rule.target] == expected


@pytest.mark.parametrize(
    "rule",
    [
        attr("work_place", "work_place"),
        attr("remark", "extra.missing"),
        expr("remark", 'trim("   ")'),
        expr("remark", "null"),
        const("remark", ""),
        attr("hired_date", "hired_date"),
        attr("remark", "primary_org.name"),
    ],
)
def test_empty_values_are_omitted_rather_than_sent_as_empty_text(rule):
    account = make_account(work_place="", hired_date=None, primary_org=None)
    result = create(rule, account=account)
    assert result.ok, result.errors
    assert rule.target not in result.payload


# ---------------------------------------------------------------------------------------------
# Value errors


@pytest.mark.parametrize(
    ("target", "limit"),
    [
        ("name", 80),
        ("title", 200),
        ("email", 50),
        ("job_number", 50),
        ("work_place", 100),
        ("remark", 2000),
        ("telephone", 50),
        ("userid", 64),
        ("org_email", 100),
        ("login_email", 64),
    ],
)
def test_a_value_longer_than_dingtalk_accepts_is_an_error_naming_the_field(target, limit):
    value = "a" * (limit - 11) + "@example.com" if "email" in target else "a" * (limit + 1)
    apply = "create_only" if target == "userid" else "always"
    rules = [r for r in DEFAULT_RULES if r.target != target]
    rules.append(attr(target, "extra.value", apply=apply))
    result = evaluate(rules, make_account(extra={"value": value}), creating=True)
    error = only_error(result)
    assert error.target == target
    assert error.message.startswith(f"{target}: {limit + 1} characters")
    assert f"at most {limit}" in error.message
    assert target not in result.payload


def test_a_value_at_the_limit_is_accepted():
    rules = [r for r in DEFAULT_RULES if r.target != "name"] + [expr("name", '"' + "名" * 80 + '"')]
    assert evaluate(rules, make_account(), creating=True).ok


@pytest.mark.parametrize("mobile", ["13800138000", "+852-61234567", "+86-13800138000"])
def test_mainland_and_international_mobiles_are_accepted(mobile):
    assert create(account=make_account(mobile=mobile)).payload["mobile"] == mobile


@pytest.mark.parametrize(
    "mobile", ["12800138000", "1380013800", "138-0013-8000", "+86-12345678", "852-61234567"]
)
def test_a_bad_mobile_is_an_error_naming_the_mobile_field(mobile):
    error = only_error(create(account=make_account(mobile=mobile)))
    assert error.target == "mobile"
    assert error.message.startswith(f'mobile: "{mobile}" is not a mobile number')


@pytest.mark.parametrize("email", ["zhangsan", "zhangsan@", "a@b", "a b@example.com", "a@@b.com"])
def test_a_bad_email_is_an_error_naming_the_email_field(email):
    error = only_error(create(account=make_account(email=email)))
    assert error.target == "email"
    assert error.message == f'email: "{email}" is not an email address'


@pytest.mark.parametrize(
    ("target", "value", "message"),
    [
        ("hide_mobile", "maybe", 'hide_mobile: "maybe" is not true or false'),
        ("hired_date", "soon", 'hired_date: "soon" is not a date (use YYYY-MM-DD)'),
        ("hired_date", "1960-01-01", "hired_date: DingTalk accepts dates after 1970-01-01 only"),
        ("org_email_type", "gold", 'org_email_type: "gold" is not one of profession, base'),
    ],
)
def test_values_of_the_wrong_type_are_errors_naming_the_field(target, value, message):
    account = make_account(extra={"value": value})
    result = evaluate((*DEFAULT_RULES, attr(target, "extra.value")), account, creating=True)
    assert only_error(result) == FieldError(target, message)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (const("hide_mobile", "maybe"), 'hide_mobile: the constant is invalid: "maybe" is not'),
        (const("hired_date", "soon"), 'hired_date: the constant is invalid: "soon" is not a'),
        (attr("hired_date", "hired_date", default="x"), "hired_date: the default is invalid"),
    ],
)
def test_constants_and_defaults_are_checked_before_any_account_is_mapped(rule, message):
    assert validate_rules((*DEFAULT_RULES, rule))[0].message.startswith(message)


@pytest.mark.parametrize(
    ("overrides", "target"),
    [({"display_name": ""}, "name"), ({"mobile": ""}, "mobile")],
)
def test_a_required_field_without_a_value_on_create_is_an_error_naming_it(overrides, target):
    error = only_error(create(account=make_account(**overrides)))
    assert error.target == target
    assert error.message == (
        f"{target}: DingTalk requires a value to create a user, but the mapped value is empty"
    )


def test_a_required_field_without_a_rule_on_create_is_an_error_naming_it():
    rules = [rule for rule in DEFAULT_RULES if rule.target != "mobile"]
    error = only_error(evaluate(rules, make_account(), creating=True))
    assert (
        error.message
        == "mobile: DingTalk requires a value to create a user, but no rule maps this field"
    )


def test_an_expression_failing_at_run_time_is_an_error_naming_the_field():
    error = only_error(create(expr("remark", 'left(username, "x")')))
    assert error.message.startswith("remark: expression error at column 1: left():")


def test_an_extension_longer_than_dingtalk_accepts_is_an_error_naming_extension():
    rules = [const(f"k{i}", "v" * 150, is_extension=True) for i in range(14)]
    result = create(*rules)
    error = only_error(result)
    assert error.target == "extension"
    assert error.message.startswith("extension: the custom attributes (k0, k1")
    assert "at most 2000" in error.message
    assert "extension" not in result.payload


def test_the_extension_size_is_measured_on_compact_unescaped_json():
    assert serialize_extension({"部门": "销售"}) == '{"部门":"销售"}'
    rules = [const(f"k{i}", "中" * 150, is_extension=True) for i in range(12)]
    assert create(*rules).ok  # 12 × ~158 characters; escaped it would be far above 2000


def test_a_field_that_fails_keeps_the_other_fields_in_the_payload():
    result = create(account=make_account(email="broken"))
    assert not result.ok
    assert result.payload["name"] == "张三"
    assert "email" not in result.payload


# ---------------------------------------------------------------------------------------------
# Static checks (validate_rules), also enforced by evaluate


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            attr("title", "titel"),
            'title: unknown attribute "titel"; did you mean "title"?',
        ),
        (
            attr("remark", "extra._secret"),
            'remark: names starting with "_" are not allowed: "extra._secret"',
        ),
        (attr("remark", ""), "remark: no attribute chosen"),
        (
            expr("remark", "lower(username"),
            'remark: expression error at column 15: expected ")" for the "(" at column 6, '
            "found the end of the expression",
        ),
        (
            expr("mobile", "trim(lowr(mobile))"),
            'mobile: expression error at column 6: unknown function "lowr"; did you mean "lower"?',
        ),
        (
            const("work_plce", "x"),
            'work_plce: not a DingTalk user field (did you mean "work_place"?); '
            "mark it as an extension field if it is custom",
        ),
        (
            const("dept_id_list", "1,2"),
            "dept_id_list: cannot be mapped: set by the sync engine from the account's memberships",
        ),
        (
            const("extension", "{}"),
            "extension: cannot be mapped: map each custom attribute as its own extension field "
            "instead",
        ),
        (
            const("init_password", "secret123"),
            "init_password: cannot be mapped: passwords are never part of a field mapping",
        ),
        (
            attr("userid", "username"),
            "userid: DingTalk never changes this field after creation; apply the rule on "
            "create only",
        ),
        (
            const("title", "t" * 201),
            "title: the constant is invalid: 201 characters; DingTalk accepts at most 200 "
            '(value starts "tttttttttttttttttttt")',
        ),
        (
            attr("mobile", "extra.mobile", default="12345"),
            'mobile: the default is invalid: "12345" is not a mobile number DingTalk accepts: '
            "use 11 digits starting 13 to 19 (13800138000) or +country code-number "
            "(+852-61234567)",
        ),
        (
            Rule(target="remark", source_kind="python", source="x"),
            'remark: unknown source kind "python"',
        ),
        (const("remark", "x", apply="sometimes"), 'remark: unknown apply mode "sometimes"'),
        (
            const("", "x", is_extension=True),
            "(no field identity): the field identity is empty or has spaces around it",
        ),
        (const(" remark", "x"), " remark: the field identity is empty or has spaces around it"),
    ],
)
def test_static_problems_are_errors_naming_the_field(rule, message):
    rules = [r for r in DEFAULT_RULES if r.target != rule.target.strip()] + [rule]
    static = validate_rules(rules)
    assert [error.message for error in static] == [message]
    result = evaluate(rules, make_account(), creating=True)
    assert [error.message for error in result.errors] == [message]


@pytest.mark.parametrize(
    "rule",
    [attr("remark", "titel"), const("dept_id_list", "1"), const("work_plce", "x")],
)
def test_rules_with_static_problems_send_nothing(rule):
    result = create(rule)
    assert rule.target not in result.payload
    assert not result.ok


@pytest.mark.parametrize(
    ("second", "is_extension"),
    [(attr("mobile", "extra.desk"), False), (const("badge", "x", is_extension=True), True)],
)
def test_a_duplicate_target_is_an_error_naming_it_and_the_rows(second, is_extension):
    first = const(second.target, "13900139000", is_extension=is_extension)
    rules = [r for r in DEFAULT_RULES if r.target != second.target] + [first, second]
    errors = validate_rules(rules)
    row = len(rules)
    assert [e.message for e in errors] == [
        f"{second.target}: mapped more than once (rows {row - 1} and {row})"
    ]


def test_the_first_of_duplicate_targets_is_the_one_used():
    rules = (*DEFAULT_RULES, const("remark", "first"), const("remark", "second"))
    result = evaluate(rules, make_account(), creating=True)
    assert result.payload["remark"] == "first"
    assert only_error(result).target == "remark"


@pytest.mark.parametrize("target", ["name", "mobile"])
def test_validate_rules_requires_a_rule_for_each_field_required_on_create(target):
    rules = [rule for rule in DEFAULT_RULES if rule.target != target]
    assert [e.message for e in validate_rules(rules)] == [
        f"{target}: DingTalk requires this field to create a user; add a rule for it"
    ]


def test_validate_rules_accepts_every_kind_of_valid_rule():
    rules = (
        *DEFAULT_RULES,
        attr("work_place", "work_place"),
        expr("remark", 'concat(primary_org.path, " ", extra.badge)'),
        const("hide_mobile", "false"),
        attr("hired_date", "hired_date", apply="create_only"),
        attr("badge", "extra.badge", is_extension=True),
    )
    assert validate_rules(rules) == ()


def test_every_attribute_can_be_read_by_a_rule():
    for name in ATTRIBUTES:
        assert validate_rules((*DEFAULT_RULES, attr("remark", name))) == ()
        assert create(attr("remark", name)).ok


def test_the_context_holds_plain_values_only():
    context = account_context(make_account())
    assert set(context) == {*ATTRIBUTES, "extra"}
    plain = (str, int, dt.date, type(None), dict)
    assert all(isinstance(value, plain) for value in context.values())


def test_the_account_is_left_unchanged():
    account = make_account()
    before = dataclasses.replace(account, extra=dict(account.extra))
    create(expr("remark", 'replace(extra.badge, "B", "C")'), account=account)
    assert account == before


# ---------------------------------------------------------------------------------------------
# Purity


def test_the_engine_imports_neither_django_nor_dtconsole():
    script = (
        "import sys\n"
        "sys.modules['django'] = None\n"  # any `import django...` would now fail
        "sys.modules['dtconsole'] = None\n"
        "import mappings.engine, mappings.expressions, mappings.defaults\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'dtconsole')\n"
        "       and sys.modules[m] is not None]\n"
        "assert not bad, bad\n"
        "print('pure')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pure"
