"""Unit tests of connectors.dingtalk.errors: DingTalk's real bodies (spec §1, §4, §5, §6) in,
typed exceptions out. Pure: no HTTP."""

from __future__ import annotations

import ast
import inspect

import pytest

from connectors.dingtalk import errors
from connectors.dingtalk.errors import (
    AlreadyExists,
    AuthError,
    BadRequest,
    DingTalkError,
    IpNotAllowed,
    NotFound,
    OutOfScope,
    PermissionDenied,
    QuotaExhausted,
    RateLimited,
    Transient,
    error_from_response,
    mask_url,
    parse_required_scopes,
)

MISSING_SCOPE_SUBMSG = (
    "应用尚未开通所需的权限：[qyapi_get_member_by_mobile]，点击链接申请并开通即可："
    "https://open-dev.dingtalk.com/appscope/apply?content=dingabc%23qyapi_get_member_by_mobile, "
    "{requiredScopes=[qyapi_get_member_by_mobile]}"
)


def wrapped(sub_code: str, sub_msg: str) -> dict:
    """An errcode-88 gateway envelope as DingTalk sends it (§4.1)."""
    return {
        "errcode": 88,
        "sub_code": sub_code,
        "sub_msg": sub_msg,
        "errmsg": f"ding talk error[subcode={sub_code},submsg={sub_msg}]",
        "request_id": "16l4ew3d47pdp",
    }


def test_a_zero_errcode_is_success():
    assert error_from_response(200, {"errcode": 0, "errmsg": "ok", "result": {}}) is None


def test_a_string_zero_errcode_from_doc_examples_is_success_too():
    assert error_from_response(200, {"errcode": "0", "errmsg": "ok"}) is None


def test_a_bare_v1_success_body_is_success():
    assert error_from_response(200, {"accessToken": "x", "expireIn": 7200}) is None


def test_user_not_found_maps_to_not_found_with_request_id_and_path():
    body = {"errcode": 60121, "errmsg": "找不到该用户", "request_id": "abc"}
    err = error_from_response(200, body, path="/topapi/v2/user/get")
    assert isinstance(err, NotFound)
    assert (err.errcode, err.message, err.request_id) == (60121, "找不到该用户", "abc")
    assert err.path == "/topapi/v2/user/get" and err.http_status == 200


@pytest.mark.parametrize("code", [60121, 33012, 60111, 60003, 40009, 60004])
def test_every_not_found_code_maps_to_not_found(code):
    assert isinstance(error_from_response(200, {"errcode": code, "errmsg": "x"}), NotFound)


@pytest.mark.parametrize(
    ("code", "what"),
    [
        (60102, "userid"),
        (60104, "mobile"),
        (60106, "email"),
        (40101, "email"),
        (40100, "telephone"),
        (60008, "department_name"),
        (60021, "department_name"),
    ],
)
def test_duplicates_map_to_already_exists_naming_the_field(code, what):
    err = error_from_response(200, {"errcode": code, "errmsg": "已存在"})
    assert isinstance(err, AlreadyExists)
    assert err.what == what


@pytest.mark.parametrize(
    "code",
    [60103, 60105, 60112, 60001, 60009, 60010, 60005, 60006, 60007, 60018, 40035, 400002, 40031],
)
def test_validation_codes_map_to_bad_request(code):
    assert isinstance(error_from_response(200, {"errcode": code, "errmsg": "x"}), BadRequest)


def test_an_unknown_code_is_a_bad_request_not_a_retry():
    err = error_from_response(200, {"errcode": 12345, "errmsg": "new"})
    assert isinstance(err, BadRequest) and not err.retryable


def test_root_department_refusals_carry_a_hint():
    err = error_from_response(200, {"errcode": 60007, "errmsg": "不允许删除根部门"})
    assert "root" in err.hint


def test_system_busy_is_transient_and_retryable():
    err = error_from_response(200, {"errcode": -1, "errmsg": "系统繁忙"})
    assert isinstance(err, Transient) and err.retryable


def test_an_html_502_page_is_transient():
    assert isinstance(error_from_response(502, None), Transient)


def test_an_html_page_with_status_200_is_transient():
    assert isinstance(error_from_response(200, None), Transient)


def test_the_ip_ban_body_is_rate_limited():
    body = {"status": 1111, "wait": 5, "source": "x5", "punish": "deny", "uuid": "u"}
    err = error_from_response(200, body)
    assert isinstance(err, RateLimited) and err.errcode == 1111


def test_a_wrapped_invalid_token_asks_for_a_refresh():
    err = error_from_response(200, wrapped("40014", "不合法的access_token"))
    assert isinstance(err, AuthError) and err.token_rejected
    assert err.errcode == 40014 and err.sub_code == "40014"


def test_a_blank_token_asks_for_a_refresh():
    err = error_from_response(200, wrapped("40000", "access_token is blank"))
    assert isinstance(err, AuthError) and err.token_rejected


@pytest.mark.parametrize("code", [40001, 40014, 42001, 33001])
def test_plain_token_codes_ask_for_a_refresh(code):
    err = error_from_response(200, {"errcode": code, "errmsg": "x"})
    assert isinstance(err, AuthError) and err.token_rejected


@pytest.mark.parametrize("code", [40096, 40089])
def test_bad_app_key_or_secret_on_gettoken_is_an_auth_error_without_refresh(code):
    err = error_from_response(200, {"errcode": code, "errmsg": "不合法的appKey或appSecret"})
    assert isinstance(err, AuthError) and not err.token_rejected
    assert "AppSecret" in err.hint


def test_a_missing_scope_names_the_scope_and_the_apply_link():
    err = error_from_response(200, wrapped("60011", MISSING_SCOPE_SUBMSG))
    assert isinstance(err, PermissionDenied)
    assert err.required_scopes == ["qyapi_get_member_by_mobile"]
    assert err.apply_url == (
        "https://open-dev.dingtalk.com/appscope/apply?content=dingabc%23qyapi_get_member_by_mobile"
    )
    assert err.sub_code == "60011" and err.errcode == 60011


def test_a_sub_code_only_present_in_errmsg_is_still_understood():
    body = wrapped("60011", MISSING_SCOPE_SUBMSG)
    del body["sub_code"], body["sub_msg"]
    err = error_from_response(200, body)
    assert isinstance(err, PermissionDenied)
    assert err.required_scopes == ["qyapi_get_member_by_mobile"]


def test_several_required_scopes_are_all_listed():
    assert parse_required_scopes("x {requiredScopes=[a_b, c.d]}") == ["a_b", "c.d"]


def test_ip_not_in_allow_list_reports_the_ip_dingtalk_saw():
    sub_msg = "访问ip不在白名单之中,request ip=14.153.172.241 appKey(ding-example)"
    err = error_from_response(200, wrapped("60020", sub_msg))
    assert isinstance(err, IpNotAllowed)
    assert err.ip == "14.153.172.241"
    assert "%(ip)s" in err.hint and err.hint_args == {"ip": "14.153.172.241"}
    assert "Add 14.153.172.241 to" in err.rendered_hint()
    assert "Add 14.153.172.241 to" in err.sentence()


@pytest.mark.parametrize("code", [50002, 50004])
def test_outside_the_address_book_scope_is_out_of_scope(code):
    assert isinstance(error_from_response(200, {"errcode": code, "errmsg": "x"}), OutOfScope)


@pytest.mark.parametrize("sub_code", ["90018", "90002"])
def test_qps_limits_are_rate_limited(sub_code):
    err = error_from_response(200, wrapped(sub_code, "请求被暂时限制了"))
    assert isinstance(err, RateLimited) and err.retryable


def test_the_monthly_quota_is_rate_limited_but_not_worth_retrying():
    err = error_from_response(200, {"errcode": 90020, "errmsg": "quota"})
    assert isinstance(err, RateLimited) and not err.retryable


def test_an_unknown_topapi_path_is_a_bad_request():
    body = {"errcode": 22, "sub_msg": "不合法ApiName", "errmsg": "Invalid method[submsg=x]"}
    assert isinstance(error_from_response(200, body), BadRequest)


def test_v1_invalid_client_secret_is_an_auth_error():
    body = {"requestid": "01A", "code": "invalidClientIdOrSecret", "message": "无效的clientId"}
    err = error_from_response(400, body)
    assert isinstance(err, AuthError) and not err.token_rejected
    assert err.request_id == "01A" and err.errcode == "invalidClientIdOrSecret"


def test_v1_invalid_authentication_asks_for_a_refresh():
    body = {"code": "InvalidAuthentication", "requestid": "r", "message": "不合法的access_token"}
    err = error_from_response(400, body)
    assert isinstance(err, AuthError) and err.token_rejected


def test_v1_permission_denied_reads_access_denied_detail():
    body = {
        "code": "Forbidden.AccessDenied.AccessTokenPermissionDenied",
        "requestid": "r",
        "message": "没有调用该接口的权限",
        "accessdenieddetail": {"requiredScopes": ["Contact.User.Read"]},
    }
    err = error_from_response(403, body)
    assert isinstance(err, PermissionDenied)
    assert err.required_scopes == ["Contact.User.Read"]


def test_v1_ip_not_in_white_list_is_ip_not_allowed():
    body = {"code": "Forbidden.AccessDenied.IpNotInWhiteList", "message": "ip=10.0.0.9"}
    err = error_from_response(403, body)
    assert isinstance(err, IpNotAllowed) and err.ip == "10.0.0.9"


@pytest.mark.parametrize(
    "code",
    [
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "Forbidden.AccessDenied.QpsLimitForApi",
        "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi",
    ],
)
def test_v1_qps_limits_are_rate_limited(code):
    assert isinstance(error_from_response(403, {"code": code, "message": "x"}), RateLimited)


def test_v1_user_not_found_is_not_found():
    body = {"code": "invalidParameter.user.notFound", "message": "找不到该用户"}
    assert isinstance(error_from_response(404, body), NotFound)


def test_a_reused_login_code_is_an_auth_error_with_a_hint():
    body = {"code": "invalidParameter.authCode.notFound", "message": "不合法的临时授权码"}
    err = error_from_response(400, body)
    assert isinstance(err, AuthError) and "sign in again" in err.hint


def test_a_v1_server_error_is_transient():
    body = {"code": "unknownError", "message": "未知错误"}
    assert isinstance(error_from_response(500, body), Transient)


def test_scrub_removes_secrets_from_message_and_str():
    err = DingTalkError("token tok123 is bad", errcode=1)
    err.scrub(["tok123", None])
    assert "tok123" not in str(err) and "tok123" not in repr(err)


def test_mask_url_hides_token_and_secret_query_values():
    url = "https://oapi.dingtalk.com/gettoken?appkey=k&appsecret=s3cr3t&access_token=t0k"
    masked = mask_url(url)
    assert "s3cr3t" not in masked and "t0k" not in masked and "appkey=k" in masked


def test_str_shows_path_and_codes_for_logs():
    err = error_from_response(200, wrapped("60011", "no"), path="/topapi/v2/user/get")
    assert str(err) == "/topapi/v2/user/get: [88/60011] no"


# --- hints ------------------------------------------------------------------------------

# Codes the brief for the console's event pages names explicitly: each needs a hint of its own.
REQUIRED_HINT_CODES = [
    60103, 60104, 60102, 60105, 60106, 40100, 40101, 60107, 60112, 60113, 60120, 60122,
    60123, 60128, 40019, 40020, 40021, 40022, 40023, 40024, 40103, 41054, 40066, 40003,
    40009, 33012, 60121, 60111, *range(60001, 60011), 60016, 60018, 60019, 60110, 43007,
    400002, 40035, -1, 60011, 60020, 90018, 90002, 90020,
]  # fmt: skip


def code_tables() -> dict[str, object]:
    """Every code table of the errors module: the module-level names ending in _CODES."""
    return {name: value for name, value in vars(errors).items() if name.endswith("_CODES")}


def every_known_code() -> list[int | str]:
    """Each code some table of the connector knows, from the tables themselves."""
    return sorted({code for table in code_tables().values() for code in table}, key=str)


def response_for(code: int | str) -> tuple[int, dict]:
    """A DingTalk answer carrying ``code`` in the envelope it arrives in."""
    if isinstance(code, str):
        return 400, {"code": code, "message": "x", "requestid": "r"}
    if code == 1111:
        return 200, {"status": 1111, "wait": 5}
    if code in errors.TOKEN_REJECTED_CODES | errors.PERMISSION_CODES | errors.IP_CODES:
        return 200, wrapped(str(code), "x")
    return 200, {"errcode": code, "errmsg": "x"}


def test_the_code_tables_are_found_and_cover_oapi_and_v1():
    tables = code_tables()
    assert {"NOT_FOUND_CODES", "ALREADY_EXISTS_CODES", "V1_QUOTA_CODES"} <= set(tables)
    assert 60121 in every_known_code() and "InvalidAuthentication" in every_known_code()


@pytest.mark.parametrize("code", every_known_code())
def test_every_code_the_connector_knows_has_a_hint(code):
    assert errors.HINTS.get(code), f"no hint for {code}"


@pytest.mark.parametrize("code", every_known_code())
def test_the_error_for_every_known_code_carries_its_hint(code):
    status, body = response_for(code)
    err = error_from_response(status, body, path="/topapi/v2/user/update")
    assert err is not None and err.hint == errors.HINTS[code]
    assert err.rendered_hint() in err.sentence()


@pytest.mark.parametrize("code", REQUIRED_HINT_CODES)
def test_each_code_an_admin_meets_on_user_and_department_calls_has_a_hint(code):
    assert errors.HINTS.get(code), f"no hint for {code}"
    assert code in every_known_code()


def test_the_mobile_hints_say_what_to_do():
    assert "change the account's mobile" in errors.HINTS[60104]
    assert "link the account" in errors.HINTS[60104]
    for code in (40022, 41054):
        assert "change it in the DingTalk app" in errors.HINTS[code]
        assert "delete and re-add" in errors.HINTS[code]


def test_every_hint_literal_is_marked_for_translation():
    """Each hint constant, class default and HINTS value is an N_("...") call or a name of
    one, so the Django side's makemessages --keyword=N_ finds every English hint."""
    tree = ast.parse(inspect.getsource(errors))
    unmarked = []
    for node in ast.walk(tree):
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(target, ast.Name):
            name = target.id
            if name.endswith("_HINT") or name == "default_hint":
                unmarked += [name] if not _marked(node.value) else []
            if name in ("HINTS", "OWNER_HINTS") and isinstance(node.value, ast.Dict):
                unmarked += [ast.unparse(v) for v in node.value.values if v and not _marked(v)]
        if isinstance(node, ast.keyword) and node.arg == "hint":
            unmarked += [ast.unparse(node)] if not _marked(node.value) else []
    assert unmarked == []


def _marked(value: ast.expr) -> bool:
    """An N_("literal") call, a name (of a marked constant), a lookup in HINTS, or "" (no
    hint at all)."""
    if isinstance(value, ast.Constant):
        return value.value == ""
    if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "N_":
        return len(value.args) == 1 and isinstance(value.args[0], ast.Constant)
    if isinstance(value, ast.Subscript):
        return getattr(value.value, "id", "") in ("HINTS", "OWNER_HINTS")
    if isinstance(value, ast.DictComp):
        return _marked(value.value)
    return isinstance(value, ast.Name)


def test_the_translation_marker_returns_its_text():
    assert errors.N_("Grant the permission.") == "Grant the permission."


def test_an_unknown_code_gets_a_hint_template_naming_the_code():
    err = error_from_response(200, {"errcode": 12345, "errmsg": "new"})
    assert "%(code)s" in err.hint and err.hint_args == {"code": "12345"}
    assert "with code 12345:" in err.sentence()


def test_rendering_a_hint_never_fails_on_a_template_without_its_values():
    err = BadRequest("x", errcode=1, hint="Add %(ip)s.", hint_args={"other": "1"})
    assert err.rendered_hint() == "Add %(ip)s."


def test_a_hint_without_values_is_shown_as_written():
    err = BadRequest("x", errcode=1, hint="Use 100% of it.")
    assert err.rendered_hint() == "Use 100% of it." and err.hint_args == {}


# --- already exists: which value, and who holds it ---------------------------------------


def test_a_60104_naming_the_holder_exposes_the_owner_userid_and_a_hint_with_it():
    body = {"errcode": 60104, "errmsg": "手机号码在公司中已存在", "userid": "zhangsan"}
    err = error_from_response(200, body)
    assert isinstance(err, AlreadyExists)
    assert (err.what, err.owner_userid) == ("mobile", "zhangsan")
    assert err.hint_args == {"owner": "zhangsan"}
    assert "DingTalk user zhangsan already has this mobile" in err.sentence()


def test_a_60104_without_the_holder_has_no_owner_and_the_general_hint():
    err = error_from_response(200, {"errcode": 60104, "errmsg": "手机号码在公司中已存在"})
    assert err.owner_userid is None and err.hint == errors.HINTS[60104] and err.hint_args == {}


@pytest.mark.parametrize(
    ("code", "what"),
    [
        (60104, "mobile"),
        (60102, "userid"),
        (60106, "email"),
        (40101, "email"),
        (40100, "telephone"),
    ],
)
def test_a_taken_unique_value_names_its_field_and_tolerates_a_holder_in_the_body(code, what):
    err = error_from_response(200, {"errcode": code, "errmsg": "x", "userid": "holder"})
    assert (err.what, err.owner_userid) == (what, "holder")


# --- quota, and 40003 on create ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"errcode": 90020, "errmsg": "quota"}),
        (200, wrapped("90020", "quota")),
        (403, {"code": "Forbidden.AccessDenied.ApiCountLimitForOrg", "message": "quota"}),
    ],
)
def test_the_monthly_quota_is_quota_exhausted_a_rate_limit_never_retried(status, body):
    err = error_from_response(status, body)
    assert isinstance(err, QuotaExhausted) and isinstance(err, RateLimited)
    assert not err.retryable and err.hint == errors.QUOTA_HINT


def test_a_transient_rate_limit_is_not_quota_exhausted():
    err = error_from_response(200, wrapped("90018", "qps"))
    assert not isinstance(err, QuotaExhausted) and err.retryable


def test_an_invalid_userid_on_create_is_a_bad_request_and_elsewhere_not_found():
    body = {"errcode": 40003, "errmsg": "不合法的UserID"}
    created = error_from_response(200, body, path="/topapi/v2/user/create")
    looked_up = error_from_response(200, body, path="/topapi/v2/user/get")
    assert isinstance(created, BadRequest) and isinstance(looked_up, NotFound)
    assert created.hint == looked_up.hint == errors.HINTS[40003]


def test_v1_codes_match_whatever_their_case():
    err = error_from_response(400, {"code": "invalidclientidorsecret", "message": "x"})
    assert isinstance(err, AuthError) and err.hint == errors.CREDENTIALS_HINT
