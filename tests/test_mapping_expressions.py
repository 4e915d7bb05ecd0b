"""The field-mapping expression language: values, operators, functions, errors and limits."""

import datetime as dt

import pytest

from mappings.expressions import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_RESULT_LENGTH,
    NAMES,
    ExpressionError,
    compile_expression,
    name_problem,
    resolve_name,
    to_text,
)

CONTEXT = {
    "id": 7,
    "username": "ZhangSan",
    "display_name": "张三",
    "mobile": "13800138000",
    "email": "zhang.san@example.com",
    "job_number": "E-0042",
    "title": "  Engineer  ",
    "work_place": "",
    "hired_date": dt.date(2024, 3, 5),
    "status": "active",
    "primary_org.id": 3,
    "primary_org.name": "Sales",
    "primary_org.code": "S01",
    "primary_org.path": "ACME/Sales",
    "orgs.count": 2,
    "orgs.names": "Sales,Support",
    "orgs.codes": "S01",
    "extra": {
        "badge": "B12",
        "level": 3,
        "vip": True,
        "team": {"lead": "lisi"},
        "cost-center": "CC9",
        "start": "2023-11-20",
        "none": None,
        "long": "x" * 3000,
    },
}


def run(text: str, context: dict | None = None):
    return compile_expression(text).evaluate(CONTEXT if context is None else context)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'single'", "single"),
        ('"double"', "double"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r'"a\\b"', "a\\b"),
        (r'"line\nbreak\ttab"', "line\nbreak\ttab"),
        ('"中文"', "中文"),
        ("42", 42),
        ("3.5", 3.5),
        ("-1", -1),
        ("true", True),
        ("false", False),
        ("null", None),
        ('  "spaced"  ', "spaced"),
    ],
)
def test_literals_evaluate_to_their_values(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("username", "ZhangSan"),
        ("display_name", "张三"),
        ("id", 7),
        ("hired_date", dt.date(2024, 3, 5)),
        ("primary_org.name", "Sales"),
        ("primary_org.code", "S01"),
        ("primary_org.path", "ACME/Sales"),
        ("orgs.count", 2),
        ("orgs.names", "Sales,Support"),
        ("extra.badge", "B12"),
        ("extra.level", 3),
        ("extra.team.lead", "lisi"),
        ("extra.missing", None),
        ("extra.badge.deeper", None),
        ('extra("cost-center")', "CC9"),
        ('extra("nope")', None),
    ],
)
def test_names_read_the_context_and_extra_attributes(text, expected):
    assert run(text) == expected


def test_every_documented_name_compiles():
    for name in NAMES:
        assert compile_expression(name).names == frozenset({name})


def test_a_missing_primary_organisation_reads_as_null():
    assert run("primary_org.name", {"primary_org.name": None}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('username + "@example.com"', "ZhangSan@example.com"),
        ('"n" + 1 + 2', "n12"),
        ("1 + 2", "12"),
        ('"v" + 3.0', "v3"),
        ('"v" + 2.5', "v2.5"),
        ('"x" + null + "y"', "xy"),
        ('"x" + true', "xtrue"),
        ('"hired " + hired_date', "hired 2024-03-05"),
        ('extra.missing + ""', ""),
    ],
)
def test_plus_joins_values_as_text(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('lower("AbC")', "abc"),
        ('upper("AbC")', "ABC"),
        ("trim(title)", "Engineer"),
        ('concat("a", 1, null, "b")', "a1b"),
        ("concat(username)", "ZhangSan"),
        ('coalesce(extra.none, "", work_place, "fallback")', "fallback"),
        ("coalesce(extra.none, work_place)", None),
        ('replace("a-b-c", "-", "")', "abc"),
        ('replace("abc", "", "x")', "abc"),
        ('left("abcdef", 2)', "ab"),
        ('left("ab", 5)', "ab"),
        ('left("ab", "1")', "a"),
        ('right("abcdef", 2)', "ef"),
        ('right("abcdef", 0)', ""),
        ('substr("abcdef", 2, 3)', "bcd"),
        ('substr("abcdef", 4)', "def"),
        ('substr("abc", 9, 2)', ""),
        ('split_part("a,b,c", ",", 2)', "b"),
        ('split_part("a,b,c", ",", 9)', ""),
        ('split_part(primary_org.path, "/", 1)', "ACME"),
        ('len("abc")', 3),
        ("len(display_name)", 2),
        ("len(extra.none)", 0),
        ('if(status == "active", "on", "off")', "on"),
        ('if(extra.none, "on", "off")', "off"),
        ('date_format(hired_date, "YYYY-MM-DD")', "2024-03-05"),
        ('date_format(hired_date, "DD/MM/YY")', "05/03/24"),
        ('date_format(extra.start, "YYYYMMDD")', "20231120"),
        ('date_format(extra.none, "YYYY")', ""),
        ('extra("badge")', "B12"),
    ],
)
def test_every_function_gives_its_documented_result(text, expected):
    assert run(text) == expected


def test_every_function_is_covered_by_the_table():
    names = {"lower", "upper", "trim", "concat", "coalesce", "replace", "left", "right"}
    names |= {"substr", "split_part", "len", "if", "date_format", "extra"}
    assert set(FUNCTIONS) == names


def test_if_evaluates_only_the_branch_it_returns():
    assert run('if(true, "ok", left("x", "not a number"))') == "ok"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('upper(left(trim(title), 3)) + "-" + lower(right(username, 3))', "ENG-san"),
        ('coalesce(extra.nick, split_part(email, "@", 1))', "zhang.san"),
        ('if(orgs.count == 2, concat(primary_org.code, ":", job_number), "")', "S01:E-0042"),
        ('((("deep")))', "deep"),
    ],
)
def test_calls_and_parentheses_nest(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"a" == "a"', True),
        ('"a" != "a"', False),
        ("extra.level == 3", True),
        ('extra.level == "3"', True),
        ("extra.level == 3.0", True),
        ("extra.vip == true", True),
        ('extra.none == ""', True),
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("not false and false", False),
        ("not (false and false)", True),
        ('not username == "x"', True),
        ('"a" + "b" == "ab"', True),
        ('username == "ZhangSan" or lower(x_unused) == ""', True),
        ("not not true", True),
        ("0 or null or ''", False),
        ("1 and 'x'", True),
    ],
)
def test_operators_follow_the_documented_precedence(text, expected):
    context = {**CONTEXT, "x_unused": ""}
    assert compile_expression(text, names=(*NAMES, "x_unused")).evaluate(context) is expected


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("lower(username", 15, 'expected ")"'),
        ("(username", 10, 'expected ")"'),
        ("username +", 11, "expected a value"),
        ("username username", 10, 'unexpected "username"'),
        ('"open', 1, "not closed"),
        (r'"bad \q escape"', 6, r'unknown escape "\q"'),
        ("username ; 1", 10, 'unexpected character ";"'),
        ("a == b == c", 1, 'unknown name "a"'),
        ('"a" == "b" == "c"', 12, "cannot be chained"),
        ("and", 1, 'expected a value, found "and"'),
        ("lower(,)", 7, "expected a value"),
        ("lowr(username)", 1, 'unknown function "lowr"; did you mean "lower"?'),
        ('upper(username) + lowr("x")', 19, 'unknown function "lowr"'),
        ("lower(username, 1)", 1, "lower() takes 1 argument, got 2"),
        ("replace(username)", 1, "replace() takes 3 arguments, got 1"),
        ("substr(username)", 1, "substr() takes 2 to 3 arguments, got 1"),
        ("concat()", 1, "concat() takes at least 1 argument, got 0"),
        ("usrname", 1, 'unknown name "usrname"; did you mean "username"?'),
        ('"x" + primary_org.nme', 7, 'unknown name "primary_org.nme"'),
        ("extra", 1, "extra.<key>"),
        ("", 1, "empty"),
        ("   ", 1, "empty"),
    ],
)
def test_errors_say_what_went_wrong_and_at_which_column(text, column, fragment):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert caught.value.column == column
    assert fragment in caught.value.message
    assert str(caught.value).startswith(f"expression error at column {column}: ")


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ('left(username, "x")', 1, "left(): the count must be a whole number"),
        ("right(username, 1.5)", 1, "right(): the count must be a whole number"),
        ("substr(username, 0, 1)", 1, "substr(): the start counts from 1"),
        ('split_part(username, "", 1)', 1, "split_part(): the separator is empty"),
        ('split_part(username, ",", 0)', 1, "split_part(): the index counts from 1"),
        ('"x" + date_format(username, "YYYY")', 7, 'date_format(): "ZhangSan" is not a date'),
    ],
)
def test_functions_refuse_bad_arguments_at_run_time_with_a_column(text, column, fragment):
    expression = compile_expression(text)
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate(CONTEXT)
    assert caught.value.column == column
    assert fragment in caught.value.message


def test_an_expression_longer_than_the_limit_is_refused():
    with pytest.raises(ExpressionError) as caught:
        compile_expression('"' + "a" * MAX_LENGTH + '"')
    assert f"at most {MAX_LENGTH}" in caught.value.message


def test_an_expression_at_the_length_limit_compiles():
    assert run('"' + "a" * (MAX_LENGTH - 2) + '"') == "a" * (MAX_LENGTH - 2)


def test_nesting_deeper_than_the_limit_is_refused():
    compile_expression("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH)
    with pytest.raises(ExpressionError) as caught:
        compile_expression("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    assert caught.value.column == MAX_DEPTH + 1
    assert "nested deeper" in caught.value.message


def test_nested_calls_count_towards_the_depth_limit():
    with pytest.raises(ExpressionError, match="nested deeper"):
        compile_expression("lower(" * (MAX_DEPTH + 1) + "username" + ")" * (MAX_DEPTH + 1))


def test_a_long_chain_of_not_counts_towards_the_depth_limit():
    with pytest.raises(ExpressionError, match="nested deeper"):
        compile_expression("not " * (MAX_DEPTH + 1) + "true")


@pytest.mark.parametrize(
    "text",
    [
        "extra.long + extra.long",
        "concat(extra.long, extra.long)",
        'replace(extra.long, "x", "xx")',
        "upper(extra.long + extra.long)",
    ],
)
def test_results_longer_than_the_limit_are_refused(text):
    with pytest.raises(ExpressionError, match=f"longer than {MAX_RESULT_LENGTH}"):
        run(text)


def test_a_long_value_read_as_is_is_refused_as_a_result():
    context = {"extra": {"huge": "y" * (MAX_RESULT_LENGTH + 1)}}
    with pytest.raises(ExpressionError, match="longer than"):
        run("extra.huge", context)


@pytest.mark.parametrize(
    "text",
    [
        "__class__",
        "().__class__",
        '"".__class__',
        "username.__class__",
        "extra.__dict__",
        "extra.badge.__class__.__mro__",
        "import os",
        "__import__('os')",
        "os.system('ls')",
        "open('/etc/passwd')",
        "eval('1')",
        "exec('1')",
        "getattr(username, 'upper')",
        "lower.__globals__",
        "username[0]",
        "lambda: 1",
        "[c for c in username]",
        "username.upper()",
        "{}",
        "1; import os",
        "a" * 10_000,
        "(" * 10_000,
    ],
)
def test_attempts_to_escape_are_refused(text):
    with pytest.raises(ExpressionError):
        compile_expression(text)


def test_extra_reads_only_plain_mappings_never_attributes():
    class Sneaky:
        secret = "leaked"

    context = {"extra": {"obj": Sneaky()}}
    assert resolve_name(context, "extra.obj.secret") is None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("username", None),
        ("extra.badge", None),
        ("extra.a.b", None),
        ("extra.", "extra.<key>"),
        ("extra._private", 'starting with "_"'),
        ("titel", 'did you mean "title"'),
    ],
)
def test_name_problem_accepts_known_names_and_explains_the_rest(name, fragment):
    problem = name_problem(name)
    assert (problem is None) if fragment is None else (fragment in str(problem))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("a", "a"),
        (True, "true"),
        (12, "12"),
        (1.0, "1"),
        (dt.date(2024, 1, 2), "2024-01-02"),
        ({"b": 1, "a": "中"}, '{"a": "中", "b": 1}'),
    ],
)
def test_to_text_gives_the_text_form_of_plain_values(value, expected):
    assert to_text(value) == expected


def test_a_compiled_expression_lists_the_names_it_reads():
    expression = compile_expression('lower(username) + extra.badge + extra("x")')
    assert expression.names == frozenset({"username", "extra.badge"})
