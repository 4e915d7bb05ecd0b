"""The DingTalk user and department field catalogues (dingtalk-api.md §2.1, §2.2, §3.1, §3.2).

Data only: the field-mapping engine uses it to validate a mapping's field identity, know which
fields are required on create, and which can be updated afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEPARTMENT_FIELDS",
    "USER_FIELDS",
    "FieldSpec",
    "department_field",
    "is_known_department_field",
    "is_known_user_field",
    "user_field",
]


@dataclass(frozen=True)
class FieldSpec:
    """One DingTalk field: wire name, type, maximum length, create/update rules, notes."""

    name: str
    type: str  # "string", "number", "boolean", "object", "object[]", "millis", "csv"
    max_length: int | None = None
    required_on_create: bool = False
    updatable: bool = True
    unique: bool = False
    notes: str = ""


_USER: tuple[FieldSpec, ...] = (
    FieldSpec("userid", "string", 64, updatable=False, unique=True,
              notes="1-64 chars, unique, immutable; generated when omitted"),
    FieldSpec("name", "string", 80, required_on_create=True),
    FieldSpec("mobile", "string", None, required_on_create=True, unique=True,
              notes="+xx-xxxxxx outside mainland China; not in the 2026 update doc table, "
                    "in every SDK; activated users cannot change it (40021/40022/41054)"),
    FieldSpec("hide_mobile", "boolean"),
    FieldSpec("telephone", "string", 50, unique=True, notes="extension number"),
    FieldSpec("job_number", "string", 50),
    FieldSpec("title", "string", 200),
    FieldSpec("email", "string", 50, unique=True),
    FieldSpec("org_email", "string", 100, notes="only with corporate mail opened"),
    FieldSpec("org_email_type", "string", None, notes="profession or base"),
    FieldSpec("work_place", "string", 100),
    FieldSpec("remark", "string", 2000),
    FieldSpec("dept_id_list", "csv", None, required_on_create=True,
              notes="comma-separated dept ids, at most 100 on create, 300 on update"),
    FieldSpec("dept_order_list", "object[]", None, notes='[{"dept_id":2,"order":1}]'),
    FieldSpec("dept_title_list", "object[]", None, notes='[{"dept_id":2,"title":"..."}]'),
    FieldSpec("extension", "object", 2000,
              notes="keys defined in the admin console; writing replaces all attributes"),
    FieldSpec("senior_mode", "boolean"),
    FieldSpec("hired_date", "millis", None, notes="Unix epoch milliseconds"),
    FieldSpec("manager_userid", "string", None, notes="direct manager's userid"),
    FieldSpec("login_email", "string", 64, notes="email-login accounts only"),
    FieldSpec("dept_position_list", "object[]", None,
              notes="{dept_id, is_main, title, work_place}"),
    FieldSpec("extension_i18n", "object", None),
    FieldSpec("exclusive_account", "boolean", updatable=False, notes="enterprise accounts"),
    FieldSpec("exclusive_account_type", "string", updatable=False, notes="sso or dingtalk"),
    FieldSpec("login_id", "string", updatable=False, notes="dingtalk exclusive accounts"),
    FieldSpec("init_password", "string", updatable=False, notes=">= 8 chars, mixed"),
    FieldSpec("ext_attrs_update_mode", "number", notes="update only: 0 overwrite, 1 append"),
    FieldSpec("force_update_fields", "string", notes="update only: manager_userid clears it"),
)  # fmt: skip

_DEPARTMENT: tuple[FieldSpec, ...] = (
    FieldSpec("dept_id", "number", None, updatable=False, notes="generated; root is 1"),
    FieldSpec("name", "string", 64, required_on_create=True,
              notes="unique among siblings; no '-', ',' or '，'"),
    FieldSpec("parent_id", "number", None, required_on_create=True, notes="root is 1"),
    FieldSpec("order", "number", None, notes="smaller sorts first"),
    FieldSpec("source_identifier", "string", None, notes="free mapping key; not unique"),
    FieldSpec("hide_dept", "boolean", notes="old SDKs send dept_hiding"),
    FieldSpec("dept_permits", "csv", None, notes="max 50 with user_permits"),
    FieldSpec("user_permits", "csv", None, notes="max 50 with dept_permits"),
    FieldSpec("outer_dept", "boolean"),
    FieldSpec("outer_dept_only_self", "boolean"),
    FieldSpec("outer_permit_users", "csv", None),
    FieldSpec("outer_permit_depts", "csv", None),
    FieldSpec("create_dept_group", "boolean"),
    FieldSpec("auto_approve_apply", "boolean"),
    FieldSpec("auto_add_user", "boolean", notes="update only"),
    FieldSpec("dept_manager_userid_list", "csv", None,
              notes="update only; managers must be members of the department"),
    FieldSpec("group_contain_sub_dept", "boolean", notes="update only"),
    FieldSpec("group_contain_outer_dept", "boolean", notes="update only"),
    FieldSpec("group_contain_hidden_dept", "boolean", notes="update only"),
    FieldSpec("org_dept_owner", "string", notes="update only; group owner, must be a member"),
    FieldSpec("force_update_fields", "string", notes="update only: dept_manager_userid_list"),
    FieldSpec("code", "string", 30, notes="update only"),
    FieldSpec("language", "string", notes="zh_CN or en_US"),
)  # fmt: skip

#: Every user field the connector may write, by wire name.
USER_FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in _USER}
#: Every department field the connector may write, by wire name.
DEPARTMENT_FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in _DEPARTMENT}

#: Fields whose wire value is a comma-separated string although callers may hold a list.
CSV_FIELDS = frozenset(spec.name for spec in (*_USER, *_DEPARTMENT) if spec.type == "csv")


def is_known_user_field(name: str) -> bool:
    """Whether ``name`` is a DingTalk user field identity (e.g. ``work_place``)."""
    return name in USER_FIELDS


def is_known_department_field(name: str) -> bool:
    """Whether ``name`` is a DingTalk department field."""
    return name in DEPARTMENT_FIELDS


def user_field(name: str) -> FieldSpec | None:
    """The user field spec for ``name``, or None."""
    return USER_FIELDS.get(name)


def department_field(name: str) -> FieldSpec | None:
    """The department field spec for ``name``, or None."""
    return DEPARTMENT_FIELDS.get(name)
