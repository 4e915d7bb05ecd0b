"""DingTalkClient against the local DingTalk sandbox over real HTTP: every endpoint, the typed
errors each failure maps to, tokens, pacing, retries, paging and write safety."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from connectors.dingtalk.client import DingTalkClient
from connectors.dingtalk.errors import (
    AlreadyExists,
    AuthError,
    BadRequest,
    IpNotAllowed,
    NotFound,
    OutOfScope,
    PermissionDenied,
    RateLimited,
    Transient,
)
from tests.sandbox_helpers import start_sandbox

TOKEN_PATHS = ("/v1.0/oauth2/accessToken", "/gettoken")
_mobiles = itertools.count(13800000000)


# --- small helpers (shared with the other test_dingtalk_client_* modules) ----------------


@dataclass(frozen=True)
class SandboxApp:
    """An app registered in the sandbox, and where the sandbox listens."""

    url: str
    corp_id: str
    app_key: str
    app_secret: str


def control(url: str, method: str, path: str, body: Any = None) -> Any:
    """Call the sandbox's control API and return its JSON answer."""
    response = requests.request(method, f"{url}/_sandbox/{path}", json=body, timeout=5)
    assert response.status_code < 400, response.text
    return response.json() if response.content else None


def make_app(url: str, key: str = "dingappkey", **settings: Any) -> SandboxApp:
    """Register (or update) an app in a fresh corp; ``settings`` go to POST /_sandbox/apps."""
    app = SandboxApp(url, f"corp-{key}", key, f"secret-of-{key}")
    body = {"corp_id": app.corp_id, "app_key": key, "app_secret": app.app_secret}
    control(url, "POST", "apps", {**body, "agent_id": "1001", **settings})
    return app


def make_client(app: SandboxApp, **kw: Any) -> DingTalkClient:
    """A client aimed at the sandbox, with fast backoff so retry tests stay quick."""
    options: dict[str, Any] = {
        "oapi_base": app.url,
        "api_base": app.url,
        "login_base": app.url,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
        "rate_limit_wait": 0.1,
        **kw,
    }
    return DingTalkClient(app.app_key, app.app_secret, **options)


def calls(app: SandboxApp, path: str) -> int:
    """How many requests the sandbox saw for ``path`` from ``app``."""
    return control(app.url, "GET", "calls").get(app.app_key, {}).get(path, 0)


def calls_by_anyone(app: SandboxApp, path: str) -> int:
    """Requests for ``path`` from any caller (a rejected token is counted under no app)."""
    return sum(per_app.get(path, 0) for per_app in control(app.url, "GET", "calls").values())


def token_calls(app: SandboxApp) -> int:
    """Token requests of either style seen by the sandbox (keyed by app or anonymous)."""
    seen = control(app.url, "GET", "calls")
    return sum(n for per_app in seen.values() for p, n in per_app.items() if p in TOKEN_PATHS)


def fault(app: SandboxApp, path: str, kind: str, count: int = 1, **extra: Any) -> None:
    """Inject ``count`` failures of ``kind`` on ``path``."""
    control(app.url, "POST", "faults", {"path": path, "count": count, "kind": kind, **extra})


def new_user(dept_id: int = 1, **fields: Any) -> dict[str, Any]:
    """User create fields with a fresh valid mobile."""
    return {"name": "张三", "mobile": str(next(_mobiles)), "dept_id_list": [dept_id], **fields}


@pytest.fixture(scope="module")
def sandbox_url():
    """One sandbox server per test module (state is reset for every test)."""
    server = start_sandbox(qps=20)
    yield server.url
    server.stop()


@pytest.fixture
def app(sandbox_url: str) -> SandboxApp:
    """A fresh sandbox with one app that holds every address-book permission."""
    control(sandbox_url, "POST", "reset")
    return make_app(sandbox_url)


@pytest.fixture
def client(app: SandboxApp):
    """A client for ``app`` with pacing at DingTalk's default budget."""
    with make_client(app) as dt:
        yield dt


# --- departments -------------------------------------------------------------------------


def test_department_create_returns_an_id_that_department_get_reads_back(client):
    dept_id = client.department_create("研发部", 1, order=3, source_identifier="org-7")
    dept = client.department_get(dept_id)
    assert (dept.dept_id, dept.name, dept.parent_id) == (dept_id, "研发部", 1)
    assert dept.order == 3 and dept.source_identifier == "org-7"
    assert dept.raw["name"] == "研发部"


def test_the_root_department_can_be_read(client):
    root = client.department_get(1)
    assert root.dept_id == 1 and root.name


def test_member_counts_cover_the_subtree_and_direct_members(client):
    parent = client.department_create("总部", 1)
    child = client.department_create("分部", parent)
    client.user_create(new_user(parent))
    client.user_create(new_user(child))
    dept = client.department_get(parent)
    assert (dept.member_count, dept.owning_member_count) == (2, 1)


def test_department_update_renames_and_moves_keeping_the_id(client):
    a = client.department_create("A", 1)
    b = client.department_create("B", 1)
    client.department_update(b, name="B2", parent_id=a)
    moved = client.department_get(b)
    assert (moved.dept_id, moved.name, moved.parent_id) == (b, "B2", a)


def test_listsub_and_listsubid_return_direct_children_only(client):
    a = client.department_create("A", 1)
    b = client.department_create("B", 1)
    client.department_create("A1", a)
    assert sorted(d.dept_id for d in client.department_listsub(1)) == sorted([a, b])
    assert sorted(client.department_listsubid(1)) == sorted([a, b])


def test_listparentbydept_runs_from_the_department_up_to_the_root(client):
    a = client.department_create("A", 1)
    a1 = client.department_create("A1", a)
    assert client.department_listparentbydept(a1) == [a1, a, 1]


def test_a_deleted_department_is_not_found_afterwards(client):
    dept_id = client.department_create("临时", 1)
    client.department_delete(dept_id)
    with pytest.raises(NotFound):
        client.department_get(dept_id)


@pytest.mark.parametrize(
    "lookup",
    [
        "department_get",
        "department_delete",
        "department_listsub",
        "department_listsubid",
        "department_listparentbydept",
        "user_listid",
    ],
)
def test_an_unknown_department_is_not_found_everywhere(client, lookup):
    with pytest.raises(NotFound):
        getattr(client, lookup)(987654)


def test_an_unknown_department_is_not_found_on_update(client):
    with pytest.raises(NotFound):
        client.department_update(987654, name="x")


def test_a_duplicate_sibling_name_is_already_exists_department_name(client):
    client.department_create("市场部", 1)
    with pytest.raises(AlreadyExists) as caught:
        client.department_create("市场部", 1)
    assert caught.value.what == "department_name" and caught.value.errcode == 60008


def test_the_current_duplicate_name_code_60021_is_understood_too(app, client):
    control(app.url, "POST", "config", {"duplicate_dept_errcode": 60021})
    client.department_create("市场部", 1)
    with pytest.raises(AlreadyExists) as caught:
        client.department_create("市场部", 1)
    assert caught.value.what == "department_name" and caught.value.errcode == 60021


def test_creating_under_a_missing_parent_is_not_found(client):
    with pytest.raises(NotFound) as caught:
        client.department_create("孤儿", 987654)
    assert caught.value.errcode == 60004


@pytest.mark.parametrize(("name", "code"), [("a-b", 60009), ("x" * 65, 60001)])
def test_an_invalid_department_name_is_a_bad_request(client, name, code):
    with pytest.raises(BadRequest) as caught:
        client.department_create(name, 1)
    assert caught.value.errcode == code


def test_the_root_department_cannot_be_deleted_or_updated(client):
    with pytest.raises(BadRequest) as deleting:
        client.department_delete(1)
    with pytest.raises(BadRequest) as updating:
        client.department_update(1, name="x")
    assert (deleting.value.errcode, updating.value.errcode) == (60007, 60018)


def test_a_department_with_members_or_children_cannot_be_deleted(client):
    with_member = client.department_create("有人", 1)
    client.user_create(new_user(with_member))
    with_child = client.department_create("有子部门", 1)
    client.department_create("子", with_child)
    with pytest.raises(BadRequest) as members:
        client.department_delete(with_member)
    with pytest.raises(BadRequest) as children:
        client.department_delete(with_child)
    assert (members.value.errcode, children.value.errcode) == (60005, 60006)


def test_moving_a_department_under_its_own_child_is_a_bad_request(client):
    a = client.department_create("A", 1)
    a1 = client.department_create("A1", a)
    with pytest.raises(BadRequest) as caught:
        client.department_update(a, parent_id=a1)
    assert caught.value.errcode == 60010


# --- users -------------------------------------------------------------------------------


def test_user_create_then_get_returns_every_field_sent(client):
    dept_id = client.department_create("销售部", 1)
    fields = new_user(
        dept_id,
        userid="zhangsan",
        email="zs@example.com",
        title="经理",
        job_number="A001",
        work_place="杭州",
        hired_date=1700000000000,
    )
    created = client.user_create(fields)
    user = client.user_get("zhangsan")
    assert created.userid == "zhangsan" and created.unionid == user.unionid
    assert (user.name, user.mobile, user.email, user.title) == (
        "张三",
        fields["mobile"],
        "zs@example.com",
        "经理",
    )
    assert (user.job_number, user.work_place, user.hired_date) == ("A001", "杭州", 1700000000000)
    assert user.dept_id_list == [dept_id]
    assert user.raw["userid"] == "zhangsan"


def test_user_create_without_userid_gets_a_generated_one(client):
    created = client.user_create(new_user())
    assert created.userid.isdigit() and created.unionid
    assert client.user_get(created.userid).userid == created.userid


def test_extension_attributes_round_trip_as_a_dict(client):
    client.user_create(new_user(userid="ext", extension={"爱好": "围棋"}))
    assert client.user_get("ext").extension == {"爱好": "围棋"}


def test_user_update_changes_given_fields_and_keeps_the_rest(client):
    client.user_create(new_user(userid="u1", title="工程师", email="u1@example.com"))
    client.user_update("u1", {"title": "架构师"})
    user = client.user_get("u1")
    assert (user.title, user.email) == ("架构师", "u1@example.com")


def test_user_update_moves_a_user_between_departments(client):
    a = client.department_create("A", 1)
    b = client.department_create("B", 1)
    client.user_create(new_user(a, userid="mover"))
    client.user_update("mover", {"dept_id_list": [a, b]})
    assert sorted(client.user_get("mover").dept_id_list) == sorted([a, b])


def test_a_deleted_user_is_not_found_afterwards(client):
    client.user_create(new_user(userid="gone"))
    client.user_delete("gone")
    with pytest.raises(NotFound):
        client.user_get("gone")


def test_unknown_users_are_not_found_on_every_lookup(client):
    for lookup in (
        lambda: client.user_get("nobody"),
        lambda: client.user_update("nobody", {"title": "x"}),
        lambda: client.user_getbymobile("13911112222"),
        lambda: client.user_getbyunionid("nounionid"),
    ):
        with pytest.raises(NotFound):
            lookup()


def test_getbymobile_and_getbyunionid_find_the_userid(client):
    fields = new_user(userid="lisi")
    created = client.user_create(fields)
    assert client.user_getbymobile(fields["mobile"]) == "lisi"
    assert client.user_getbyunionid(created.unionid) == "lisi"


def test_listid_and_count_see_the_members(client):
    dept_id = client.department_create("D", 1)
    client.user_create(new_user(dept_id, userid="a"))
    client.user_create(new_user(dept_id, userid="b"))
    assert sorted(client.user_listid(dept_id)) == ["a", "b"]
    assert client.user_count() == 2
    assert client.user_count(only_active=True) <= 2


@pytest.mark.parametrize(
    ("field", "what"),
    [("userid", "userid"), ("mobile", "mobile"), ("email", "email"), ("telephone", "telephone")],
)
def test_a_taken_unique_value_is_already_exists_naming_it(client, field, what):
    first = new_user(userid="first", email="one@example.com", telephone="8001")
    client.user_create(first)
    second = new_user(userid="second", email="two@example.com", telephone="8002")
    second[field] = first[field]
    with pytest.raises(AlreadyExists) as caught:
        client.user_create(second)
    assert caught.value.what == what


def test_a_taken_mobile_names_the_dingtalk_user_who_holds_it(client):
    first = new_user(userid="holder")
    client.user_create(first)
    with pytest.raises(AlreadyExists) as caught:
        client.user_create(new_user(userid="newcomer", mobile=first["mobile"]))
    err = caught.value
    assert (err.what, err.owner_userid) == ("mobile", "holder")
    assert "DingTalk user holder already has this mobile" in err.sentence()


def test_a_taken_email_names_the_field_but_no_holder(client):
    client.user_create(new_user(userid="one", email="same@example.com"))
    with pytest.raises(AlreadyExists) as caught:
        client.user_create(new_user(userid="two", email="same@example.com"))
    assert (caught.value.what, caught.value.owner_userid) == ("email", None)


@pytest.mark.parametrize("userid", ["zhang san", "张三"])
def test_an_invalid_userid_on_create_is_a_bad_request_with_the_userid_rule(client, userid):
    with pytest.raises(BadRequest) as caught:
        client.user_create(new_user(userid=userid))
    assert caught.value.errcode == 40003
    assert "letters, digits and _ . @ -" in caught.value.sentence()


@pytest.mark.parametrize("mobile", ["+999-12345678", "+852-5123"])
def test_a_mobile_dingtalk_refuses_is_a_bad_request_with_the_format_hint(client, mobile):
    with pytest.raises(BadRequest) as caught:
        client.user_create(new_user(mobile=mobile))
    assert caught.value.errcode == 60103 and "+852-61234567" in caught.value.sentence()


def test_a_user_without_a_name_is_a_bad_request(client):
    with pytest.raises(BadRequest):
        client.user_create({"mobile": str(next(_mobiles)), "dept_id_list": [1]})


def test_an_invalid_mobile_is_a_bad_request(client):
    with pytest.raises(BadRequest):
        client.user_create(new_user(mobile="12345"))


# --- paging ------------------------------------------------------------------------------


@pytest.mark.parametrize(("members", "pages"), [(0, 1), (1, 1), (100, 1), (101, 2), (250, 3)])
def test_user_iter_follows_the_cursor_through_every_page(app, client, members, pages):
    dept_id = client.department_create("大部门", 1)
    for n in range(members):
        body = new_user(dept_id, userid=f"u{n:03d}", corp_id=app.corp_id)
        control(app.url, "POST", "users", body)
    control(app.url, "POST", "calls/reset")
    seen = [user.userid for user in client.user_iter(dept_id)]
    assert sorted(seen) == [f"u{n:03d}" for n in range(members)]
    assert calls(app, "/topapi/v2/user/list") == pages


def test_a_page_size_over_100_is_a_bad_request(client):
    with pytest.raises(BadRequest):
        client.user_list(1, size=101)


def test_user_list_reports_the_next_cursor_until_the_last_page(client):
    dept_id = client.department_create("D", 1)
    for n in range(3):
        client.user_create(new_user(dept_id, userid=f"p{n}"))
    first = client.user_list(dept_id, cursor=0, size=2)
    last = client.user_list(dept_id, cursor=first.next_cursor, size=2)
    assert (len(first.users), first.has_more, first.next_cursor) == (2, True, 2)
    assert (len(last.users), last.has_more, last.next_cursor) == (1, False, None)


# --- tokens ------------------------------------------------------------------------------


def test_one_token_serves_many_calls(app, client):
    for _ in range(5):
        client.department_get(1)
    assert token_calls(app) == 1


def test_threads_starting_together_share_one_token(app, client):
    threads = [threading.Thread(target=client.department_get, args=(1,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert token_calls(app) == 1
    assert calls(app, "/topapi/v2/department/get") == 8


def test_the_old_gettoken_style_works_too(app):
    with make_client(app, token_style="old") as dt:
        dt.department_get(1)
        dt.department_get(1)
    assert calls(app, "/gettoken") == 1


def test_a_token_expired_mid_run_is_refreshed_once_and_the_call_succeeds(app, client):
    client.department_get(1)
    control(app.url, "POST", "tokens/expire", {"app_key": app.app_key})
    assert client.department_get(1).dept_id == 1
    assert token_calls(app) == 2
    # ok, rejected (the sandbox counts it under no app: the token names none), ok after refresh
    assert calls_by_anyone(app, "/topapi/v2/department/get") == 3


def test_a_token_is_replaced_five_minutes_before_it_expires(app):
    now = [1000.0]
    with make_client(app, clock=lambda: now[0]) as dt:
        dt.department_get(1)
        now[0] += 7200 - 301  # still more than five minutes left: the cached token is used
        dt.department_get(1)
        assert token_calls(app) == 1
        now[0] += 2  # inside the last five minutes: fetch a fresh one first
        dt.department_get(1)
    assert token_calls(app) == 2


@pytest.mark.parametrize("style", ["new", "old"])
def test_a_wrong_secret_is_an_auth_error_that_never_shows_the_secret(app, style):
    dt = DingTalkClient(
        app.app_key, "wrong-secret-123", oapi_base=app.url, api_base=app.url, token_style=style
    )
    with pytest.raises(AuthError) as caught:
        dt.department_get(1)
    err = caught.value
    assert not err.token_rejected and err.hint
    for text in (str(err), repr(err), err.message, repr(dt)):
        assert "wrong-secret-123" not in text


def test_tokens_never_appear_in_errors(app, client):
    token = client.access_token()
    fault(app, "/topapi/v2/department/get", "html_502", count=10)
    with pytest.raises(Transient) as caught:
        client.department_get(1)
    assert token not in str(caught.value) and token not in repr(caught.value)


def test_network_errors_mask_the_token_in_the_url_they_mention(app):
    dt = make_client(app, max_attempts=2)
    token = dt.access_token()
    dt.hosts = dt.hosts._replace(oapi="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(Transient) as caught:
        dt.department_get(1)
    err = caught.value
    assert token not in str(err) and token not in repr(err)
    assert err.__cause__ is None and err.__context__ is None


# --- errors over HTTP --------------------------------------------------------------------


def test_a_missing_scope_is_permission_denied_naming_the_scope(sandbox_url):
    control(sandbox_url, "POST", "reset")
    app = make_app(sandbox_url, scopes=["qyapi_base", "qyapi_get_department_list"])
    with make_client(app) as dt, pytest.raises(PermissionDenied) as caught:
        dt.user_getbymobile("13800000000")
    assert caught.value.required_scopes == ["qyapi_get_member_by_mobile"]
    assert caught.value.apply_url and app.app_key in caught.value.apply_url


def test_a_caller_outside_the_ip_allow_list_learns_the_ip_dingtalk_saw(sandbox_url):
    control(sandbox_url, "POST", "reset")
    app = make_app(sandbox_url, allowed_ips=["198.51.100.1"])
    with (
        make_client(app, session=ip_session("203.0.113.7")) as dt,
        pytest.raises(IpNotAllowed) as caught,
    ):
        dt.department_get(1)
    assert caught.value.ip == "203.0.113.7"


def test_a_department_outside_the_address_book_scope_is_out_of_scope(sandbox_url):
    control(sandbox_url, "POST", "reset")
    app = make_app(sandbox_url)
    with make_client(app) as dt:
        inside = dt.department_create("授权", 1)
        outside = dt.department_create("未授权", 1)
    make_app(sandbox_url, auth_dept_ids=[inside])
    with make_client(app) as dt:
        assert dt.user_list(inside).users == []
        with pytest.raises(OutOfScope):
            dt.user_list(outside)


# --- retries and pacing ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["errcode_-1", "errcode_90002", "html_502"])
def test_injected_faults_are_retried_until_the_call_succeeds(app, client, kind):
    client.access_token()
    fault(app, "/topapi/v2/department/get", kind, count=2)
    assert client.department_get(1).dept_id == 1
    assert calls(app, "/topapi/v2/department/get") == 3


def test_retries_stop_after_max_attempts_and_surface_the_error(app):
    fault(app, "/topapi/v2/department/get", "errcode_-1", count=10)
    with make_client(app, max_attempts=3) as dt, pytest.raises(Transient):
        dt.department_get(1)
    assert calls(app, "/topapi/v2/department/get") == 3


def test_a_burst_past_the_sandbox_qps_completes_without_an_error(app):
    with make_client(app, qps=None, rate_limit_wait=0.5) as dt:
        for _ in range(60):
            assert dt.department_get(1).dept_id == 1
    assert calls(app, "/topapi/v2/department/get") > 60  # the sandbox did push back


@pytest.fixture
def ip_flood_guard(app: SandboxApp):
    """The sandbox's per-IP flood guard at 5 calls per 20 s, with a 1-second ban."""
    control(app.url, "POST", "config", {"ip_limit": {"calls": 5, "window": 20, "ban": 1}})
    yield
    control(app.url, "POST", "config", {"ip_limit": None})


def ip_session(ip: str) -> requests.Session:
    """A session the sandbox sees as coming from ``ip``."""
    session = requests.Session()
    session.headers["X-Forwarded-For"] = ip
    return session


def test_an_ip_ban_is_rate_limited(app, ip_flood_guard):
    with make_client(app, session=ip_session("192.0.2.10"), max_attempts=1) as dt:
        for _ in range(4):
            dt.department_get(1)  # plus the token call: 5 calls, the limit
        with pytest.raises(RateLimited) as caught:
            dt.department_get(1)
    assert caught.value.errcode == 1111


def test_an_ip_ban_is_waited_out(app, ip_flood_guard):
    with make_client(app, session=ip_session("192.0.2.11"), rate_limit_wait=1.0) as dt:
        for _ in range(7):
            assert dt.department_get(1).dept_id == 1


def test_a_paced_client_never_trips_the_sandbox_limit(app):
    with make_client(app, qps=20) as dt:
        for _ in range(30):
            dt.department_get(1)
    assert calls(app, "/topapi/v2/department/get") == 30


# --- write safety ------------------------------------------------------------------------
# The slow fault answers after SLOW seconds; the client gives up after 0.3 s. With apply
# "before" the write lands at once (the client's lookup finds it); with "after" it lands late
# (the client's retry wins and the late original is refused as a duplicate).

SLOW = 0.8


def slow(app: SandboxApp, path: str, apply: str) -> None:
    """The next call on ``path`` answers after SLOW seconds; the write still takes effect."""
    fault(app, path, "slow", count=1, delay=SLOW, apply=apply)


def impatient_client(app: SandboxApp) -> DingTalkClient:
    """A client whose read timeout is well below the slow fault's delay."""
    return make_client(app, timeout=(2, 0.3))


@pytest.mark.parametrize("apply", ["before", "after"])
def test_a_timed_out_user_create_is_not_duplicated(app, apply):
    with impatient_client(app) as dt:
        dept_id = dt.department_create("D", 1)
        slow(app, "/topapi/v2/user/create", apply)
        created = dt.user_create(new_user(dept_id, userid="slowpoke"))
        time.sleep(SLOW)  # let the slow original finish before counting
        assert created.userid == "slowpoke"
        assert dt.user_listid(dept_id) == ["slowpoke"]


@pytest.mark.parametrize("apply", ["before", "after"])
def test_a_timed_out_user_create_without_userid_is_found_by_mobile(app, apply):
    with impatient_client(app) as dt:
        dept_id = dt.department_create("D", 1)
        slow(app, "/topapi/v2/user/create", apply)
        fields = new_user(dept_id)
        created = dt.user_create(fields)
        time.sleep(SLOW)
        assert dt.user_listid(dept_id) == [created.userid]
        assert dt.user_getbymobile(fields["mobile"]) == created.userid


def test_a_create_found_after_a_timeout_is_not_sent_again(app):
    with impatient_client(app) as dt:
        slow(app, "/topapi/v2/user/create", "before")
        assert dt.user_create(new_user(userid="once")).userid == "once"
    assert calls(app, "/topapi/v2/user/create") == 1


@pytest.mark.parametrize("apply", ["before", "after"])
def test_a_timed_out_department_create_is_not_duplicated(app, apply):
    with impatient_client(app) as dt:
        slow(app, "/topapi/v2/department/create", apply)
        dept_id = dt.department_create("慢部门", 1)
        time.sleep(SLOW)
        named = [d for d in dt.department_listsub(1) if d.name == "慢部门"]
        assert [d.dept_id for d in named] == [dept_id]


def test_a_create_answered_with_system_busy_is_checked_then_retried_once(app, client):
    fault(app, "/topapi/v2/user/create", "errcode_-1", count=1)
    created = client.user_create(new_user(userid="busy"))
    assert created.userid == "busy"
    assert calls(app, "/topapi/v2/user/create") == 2
    assert calls(app, "/topapi/v2/user/get") == 1  # the lookup before the retry
