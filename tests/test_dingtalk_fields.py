"""Unit tests of connectors.dingtalk.fields: the catalogue the field-mapping engine validates
field identities against."""

from __future__ import annotations

from connectors.dingtalk.fields import (
    DEPARTMENT_FIELDS,
    USER_FIELDS,
    is_known_department_field,
    is_known_user_field,
    user_field,
)


def test_the_default_mapping_fields_are_known_user_fields():
    for name in ("name", "mobile", "email", "title", "job_number", "work_place", "userid"):
        assert is_known_user_field(name)


def test_made_up_names_are_not_user_fields():
    assert not is_known_user_field("favourite_colour")
    assert not is_known_user_field("Name")  # identities are DingTalk's exact wire names


def test_name_mobile_and_departments_are_required_to_create_a_user():
    required = {spec.name for spec in USER_FIELDS.values() if spec.required_on_create}
    assert required == {"name", "mobile", "dept_id_list"}


def test_userid_cannot_be_updated_and_has_the_documented_limit():
    spec = user_field("userid")
    assert spec is not None and not spec.updatable and spec.max_length == 64


def test_unique_user_fields_match_dingtalks_uniqueness_rules():
    unique = {spec.name for spec in USER_FIELDS.values() if spec.unique}
    assert unique == {"userid", "mobile", "email", "telephone"}


def test_documented_length_limits_are_recorded():
    limits = {name: USER_FIELDS[name].max_length for name in ("name", "title", "email")}
    assert limits == {"name": 80, "title": 200, "email": 50}


def test_name_and_parent_are_required_to_create_a_department():
    required = {spec.name for spec in DEPARTMENT_FIELDS.values() if spec.required_on_create}
    assert required == {"name", "parent_id"}
    assert is_known_department_field("dept_manager_userid_list")
    assert not is_known_department_field("members")
