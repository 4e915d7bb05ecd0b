"""Structured texts of the mapping engine: English by str(), a msgid tree by as_dict()."""

import pytest
from django.utils import translation

from dtconsole.sync.texts import render
from mappings.messages import N_, Msg, join_texts


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
