"""The DingTalk permissions (权限点) an identity-sync app needs, as data.

Codes and Chinese names from dingtalk-api.md §6 (the DOC pages' "权限要求"). ``purpose`` says
what dtconsole uses it for; ``required`` marks the ones a sync cannot work without.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    code: str
    name_zh: str
    name_en: str
    purpose: str
    required: bool = True


SCOPES: tuple[Scope, ...] = (
    Scope(
        "qyapi_base",
        "调用企业API时需要具备的基本权限",
        "Basic enterprise API access",
        "get an access token and read the address-book scope",
    ),
    Scope(
        "qyapi_get_department_list",
        "通讯录部门信息读权限",
        "Read departments",
        "read the target department and its sub-departments",
    ),
    Scope(
        "qyapi_get_member",
        "成员信息读权限",
        "Read member information",
        "read users and map a DingTalk login to an account",
    ),
    Scope(
        "qyapi_get_department_member",
        "通讯录部门成员读权限",
        "Read department members",
        "list the members of each department",
    ),
    Scope(
        "qyapi_manage_addresslist",
        "通讯录数据管理权限",
        "Manage the address book",
        "create, update and delete departments and users",
    ),
    Scope(
        "qyapi_get_member_by_mobile",
        "根据手机号获取成员基本信息权限",
        "Find members by mobile number",
        "match existing DingTalk users by mobile",
    ),
    Scope(
        "Contact.User.Read",
        "通讯录个人信息读权限",
        "Read personal contact information",
        "DingTalk QR code logon only",
        required=False,
    ),
)

BY_CODE = {scope.code: scope for scope in SCOPES}


def describe(code: str) -> str:
    """``code (中文名 / English name)`` for a permission code, or the bare code if unknown."""
    scope = BY_CODE.get(code)
    return f"{code} ({scope.name_zh} / {scope.name_en})" if scope else code
