"""The Bind DingTalk wizard, step by step, against the DingTalk sandbox over HTTP."""

import pytest
from django.urls import reverse

from dtconsole.audit.models import AuditEntry
from dtconsole.providers.models import IdentityProvider
from dtconsole.sync.models import SyncJob
from tests.factories import make_account, make_org

pytestmark = pytest.mark.django_db


def application_data(sandbox, app, provider=None, **overrides) -> dict:
    """Step 1's fields; for an existing ``provider``, with the version its page carries."""
    data = {
        "name": "Acme DingTalk",
        "corp_id": app["corp_id"],
        "app_key": app["app_key"],
        "app_secret": app["app_secret"],
        "agent_id": app["agent_id"],
        "oapi_base": sandbox.url,
        "api_base": sandbox.url,
        "login_base": sandbox.url,
    }
    if provider is not None:
        data["config_version"] = version(provider)
    data.update(overrides)
    return data


def bind_step1(admin_client, sandbox, app, **overrides) -> IdentityProvider:
    response = admin_client.post(
        reverse("providers:bind"), application_data(sandbox, app, **overrides)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return IdentityProvider.objects.get(app_key=app["app_key"])


def verify(admin_client, provider):
    return admin_client.post(reverse("providers:wizard", args=[provider.pk, 2]))


def version(provider) -> str:
    """The configuration version a page opened now would carry in its hidden field."""
    provider.refresh_from_db()
    return str(provider.config_version)


def scenario_data(provider, org, dept_id=1, placement="under", **switches) -> dict:
    data = {
        "config_version": version(provider),
        "scope-TOTAL_FORMS": "1",
        "scope-INITIAL_FORMS": "0",
        "scope-0-organization": org.code or f"#{org.pk}",
        "scope-0-target_dept_id": str(dept_id),
        "scope-0-placement": placement,
    }
    data.update({k: "on" for k, v in switches.items() if v})
    return data


def mapping_post(provider, action="save", extra_rows=(), match_keys="userid, mobile") -> dict:
    rows = list(provider.field_mappings.order_by("position"))
    data = {
        "config_version": version(provider),
        "map-TOTAL_FORMS": str(len(rows) + len(extra_rows)),
        "map-INITIAL_FORMS": str(len(rows)),
        "match_keys": match_keys,
        "action": action,
    }
    for i, m in enumerate(rows):
        data.update(
            {
                f"map-{i}-id": str(m.pk),
                f"map-{i}-display_name": m.display_name,
                f"map-{i}-target": m.target,
                f"map-{i}-source_kind": m.source_kind,
                f"map-{i}-source": m.source,
                f"map-{i}-apply": m.apply,
                f"map-{i}-default": m.default,
            }
        )
    for j, row in enumerate(extra_rows, start=len(rows)):
        data.update({f"map-{j}-{k}": v for k, v in row.items()})
    return data


# --- step 1 --------------------------------------------------------------------------------


def test_step_one_creates_a_draft_with_the_secret_encrypted_and_audited(admin_client, sandbox):
    app = sandbox.app()
    provider = bind_step1(admin_client, sandbox, app)
    assert provider.step == IdentityProvider.Step.PERMISSIONS
    assert app["app_secret"] not in provider.app_secret_encrypted
    assert provider.app_secret() == app["app_secret"]
    assert provider.field_mappings.count() >= 5
    entry = AuditEntry.objects.get(action="provider.create")
    assert entry.actor_name == "admin" and app["app_secret"] not in str(entry.after)


def test_the_default_field_names_are_stored_in_the_binding_admins_language(admin_client, sandbox):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    provider = bind_step1(admin_client, sandbox, sandbox.app())
    names = dict(provider.field_mappings.values_list("target", "display_name"))
    assert names["name"] == "名称" and names["job_number"] == "工号"


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("corp_id", "corp123456", "A CorpId starts with"),
        ("app_key", "bad key!", "letters and digits"),
        ("agent_id", "agent-1", "An AgentId is a number"),
        ("app_secret", "", "Enter the AppSecret"),
        ("app_secret", "short", "16 to 128 characters"),
        ("oapi_base", "not a url", "Enter a valid URL"),
    ],
)
def test_step_one_refuses_malformed_values_field_by_field(
    admin_client, sandbox, field, value, message
):
    data = application_data(sandbox, sandbox.app(), **{field: value})
    response = admin_client.post(reverse("providers:bind"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not IdentityProvider.objects.exists()


def test_step_one_shows_developer_information_with_copy_buttons(admin_client, settings):
    settings.PUBLIC_URL = "https://idm.example.com"
    settings.EGRESS_IP = "203.0.113.7"
    body = admin_client.get(reverse("providers:bind")).content.decode()
    assert 'data-copy="idm.example.com"' in body
    assert 'data-copy="https://idm.example.com/"' in body
    assert 'data-copy="203.0.113.7"' in body


def test_editing_step_one_with_an_empty_secret_keeps_the_stored_one(admin_client, sandbox):
    app = sandbox.app()
    provider = bind_step1(admin_client, sandbox, app)
    data = application_data(sandbox, app, provider, name="Renamed", app_secret="")
    response = admin_client.post(reverse("providers:wizard", args=[provider.pk, 1]), data)
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.name == "Renamed" and provider.app_secret() == app["app_secret"]


# --- step 2 --------------------------------------------------------------------------------


def test_step_two_verifies_against_dingtalk_and_moves_to_step_three(admin_client, sandbox):
    provider = bind_step1(admin_client, sandbox, sandbox.app())
    response = verify(admin_client, provider)
    assert response.status_code == 302 and response.url.endswith("/step/3/")
    provider.refresh_from_db()
    assert provider.verification_ok and provider.step == IdentityProvider.Step.SCENARIO


def test_a_wrong_secret_says_where_to_copy_the_credentials_from(admin_client, sandbox):
    app = sandbox.app()
    provider = bind_step1(admin_client, sandbox, app, app_secret="wrong-secret-0123456789")
    body = verify(admin_client, provider).content.decode()
    assert "DingTalk refused the AppKey and AppSecret" in body
    assert "Credentials and basic information" in body
    provider.refresh_from_db()
    assert provider.step == IdentityProvider.Step.PERMISSIONS and not provider.verification_ok


def test_each_missing_permission_is_named_with_its_application_link(admin_client, sandbox):
    app = sandbox.app(scopes=["qyapi_base", "qyapi_get_department_list", "qyapi_get_member"])
    provider = bind_step1(admin_client, sandbox, app)
    body = verify(admin_client, provider).content.decode()
    for scope in [
        "qyapi_manage_addresslist",
        "qyapi_get_department_member",
        "qyapi_get_member_by_mobile",
    ]:
        assert f"The app lacks the permission {scope}" in body
        assert f"content={app['app_key']}%23{scope}" in body
    assert "lacks the permission qyapi_get_member " not in body


def test_an_ip_outside_the_allow_list_is_reported_with_the_ip_dingtalk_saw(admin_client, sandbox):
    app = sandbox.app(allowed_ips=["198.51.100.10"])
    provider = bind_step1(admin_client, sandbox, app)
    body = verify(admin_client, provider).content.decode()
    assert "came from 127.0.0.1" in body and "Server egress IP" in body


def test_a_department_outside_the_authorised_scope_is_reported(admin_client, sandbox):
    app = sandbox.app()
    dept = sandbox.control("POST", "departments", corp_id=app["corp_id"], name="Sales", parent_id=1)
    sandbox.app(auth_dept_ids=[dept["dept_id"]])
    provider = bind_step1(admin_client, sandbox, app)
    body = verify(admin_client, provider).content.decode()
    assert "outside the app&#x27;s address-book scope" in body and "All employees" in body


def test_later_steps_are_out_of_reach_until_verification_passes(admin_client, sandbox):
    provider = bind_step1(admin_client, sandbox, sandbox.app())
    response = admin_client.get(reverse("providers:wizard", args=[provider.pk, 4]))
    assert response.status_code == 302 and response.url.endswith("/step/2/")


# --- step 3 --------------------------------------------------------------------------------


@pytest.fixture
def verified(admin_client, sandbox):
    app = sandbox.app()
    provider = bind_step1(admin_client, sandbox, app)
    assert verify(admin_client, provider).status_code == 302
    provider.refresh_from_db()
    return provider


def test_step_three_stores_scopes_with_the_department_name_read_from_dingtalk(
    admin_client, verified
):
    org = make_org("Engineering", code="eng")
    data = scenario_data(verified, org, 1, incremental_enabled=True, multi_org_enabled=True)
    response = admin_client.post(reverse("providers:wizard", args=[verified.pk, 3]), data)
    assert response.status_code == 302
    verified.refresh_from_db()
    scope = verified.scopes.get()
    assert scope.organization == org and scope.target_dept_id == 1 and scope.target_dept_name
    assert (
        verified.incremental_enabled
        and verified.multi_org_enabled
        and not verified.qr_logon_enabled
    )
    assert verified.step == IdentityProvider.Step.MAPPING


def test_step_three_stores_each_rows_placement_and_audits_names_targets_and_placements(
    admin_client, verified
):
    finance = make_org("财务中心", code="fin")
    sales = make_org("Sales")
    data = scenario_data(verified, finance, 1, "under")
    data.update(
        {
            "scope-TOTAL_FORMS": "2",
            "scope-1-organization": f"#{sales.pk}",
            "scope-1-target_dept_id": "1",
            "scope-1-placement": "merge",
        }
    )
    response = admin_client.post(reverse("providers:wizard", args=[verified.pk, 3]), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    placements = dict(verified.scopes.values_list("organization__name", "placement"))
    assert placements == {"财务中心": "under", "Sales": "merge"}
    root = verified.scopes.get(organization=finance).target_dept_name
    entry = AuditEntry.objects.get(action="provider.set_scenario")
    assert entry.before["scopes"] == []
    assert entry.after["scopes"] == [
        f"财务中心 [fin] → 1 {root} (under)",
        f"Sales → 1 {root} (merge)",
    ]


def test_a_row_without_a_placement_goes_under_the_target(admin_client, verified):
    data = scenario_data(verified, make_org("Ops", code="ops"))
    del data["scope-0-placement"]
    assert (
        admin_client.post(reverse("providers:wizard", args=[verified.pk, 3]), data).status_code
        == 302
    )
    assert verified.scopes.get().placement == "under"


def test_step_three_shows_each_scopes_placement_and_under_for_a_new_row(admin_client, verified):
    org = make_org("Ops", code="ops")
    admin_client.post(
        reverse("providers:wizard", args=[verified.pk, 3]), scenario_data(verified, org, 1, "merge")
    )
    page = admin_client.get(reverse("providers:wizard", args=[verified.pk, 3]))
    forms = page.context["formset"].forms
    assert [f["placement"].value() for f in forms] == ["merge", "under"]
    body = page.content.decode()
    assert 'name="scope-0-placement" value="merge" id="id_scope-0-placement_1" checked>' in body
    assert 'name="scope-1-placement" value="under" id="id_scope-1-placement_0" checked>' in body
    assert "<datalist" not in body


def test_the_provider_page_says_how_each_scope_is_placed(admin_client, verified):
    under, merged = make_org("Finance", code="fin"), make_org("Sales", code="sales")
    data = scenario_data(verified, under, 1, "under")
    data.update(
        {
            "scope-TOTAL_FORMS": "2",
            "scope-1-organization": "sales",
            "scope-1-target_dept_id": "1",
            "scope-1-placement": "merge",
        }
    )
    admin_client.post(reverse("providers:wizard", args=[verified.pk, 3]), data)
    body = admin_client.get(reverse("providers:detail", args=[verified.pk])).content.decode()
    assert "Finance becomes a department under DingTalk department 1" in body
    assert "The contents of Sales merge into DingTalk department 1" in body
    assert merged.name in body


def test_step_three_refuses_a_department_id_dingtalk_does_not_know(admin_client, verified):
    data = scenario_data(verified, make_org("Ops", code="ops"), 987654)
    body = admin_client.post(
        reverse("providers:wizard", args=[verified.pk, 3]), data
    ).content.decode()
    assert "DingTalk has no department with id 987654" in body
    assert not verified.scopes.exists()


def test_step_three_refuses_an_organisation_inside_another_scope(admin_client, verified):
    parent = make_org("Group", code="grp")
    child = make_org("Team", parent=parent, code="team")
    data = scenario_data(verified, parent)
    data.update(
        {"scope-TOTAL_FORMS": "2", "scope-1-organization": "team", "scope-1-target_dept_id": "1"}
    )
    body = admin_client.post(
        reverse("providers:wizard", args=[verified.pk, 3]), data
    ).content.decode()
    assert f"“{child.name}” is inside “{parent.name}”" in body


def test_the_department_name_lookup_answers_live(admin_client, verified):
    url = reverse("providers:department_name", args=[verified.pk])
    assert "badge ok" in admin_client.get(url, {"dept_id": 1}).content.decode()
    assert "no department with id 42" in admin_client.get(url, {"dept_id": 42}).content.decode()
    assert "Enter a department id" in admin_client.get(url, {"dept_id": "x"}).content.decode()


# --- step 4 --------------------------------------------------------------------------------


@pytest.fixture
def at_mapping(admin_client, verified):
    data = scenario_data(verified, make_org("Root", code="root"))
    assert (
        admin_client.post(reverse("providers:wizard", args=[verified.pk, 3]), data).status_code
        == 302
    )
    verified.refresh_from_db()
    return verified


def test_save_only_finishes_the_binding_without_a_sync(admin_client, at_mapping):
    extra = [
        {
            "display_name": "Office",
            "target": "work_place",
            "source_kind": "attribute",
            "source": "work_place",
            "apply": "always",
            "default": "",
        }
    ]
    data = mapping_post(at_mapping, "save", extra)
    response = admin_client.post(reverse("providers:wizard", args=[at_mapping.pk, 4]), data)
    assert response.status_code == 302
    at_mapping.refresh_from_db()
    assert at_mapping.is_bound and at_mapping.match_keys == ["userid", "mobile"]
    assert at_mapping.field_mappings.filter(target="work_place").exists()
    assert not SyncJob.objects.exists()


def test_save_and_sync_queues_a_full_sync(admin_client, at_mapping):
    response = admin_client.post(
        reverse("providers:wizard", args=[at_mapping.pk, 4]), mapping_post(at_mapping, "save_sync")
    )
    assert response.status_code == 302
    job = SyncJob.objects.get()
    assert job.kind == "full" and job.trigger == "wizard" and job.status == "queued"


def test_an_unknown_dingtalk_field_is_refused_naming_the_field(admin_client, at_mapping):
    extra = [
        {
            "display_name": "X",
            "target": "no_such_field",
            "source_kind": "constant",
            "source": "x",
            "apply": "always",
            "default": "",
        }
    ]
    body = admin_client.post(
        reverse("providers:wizard", args=[at_mapping.pk, 4]),
        mapping_post(at_mapping, "save", extra),
    ).content.decode()
    assert "no_such_field" in body
    chinese = admin_client.post(
        reverse("providers:wizard", args=[at_mapping.pk, 4]),
        mapping_post(at_mapping, "save", extra),
        headers={"Accept-Language": "zh-CN"},
    ).content.decode()
    assert "no_such_field：不是钉钉成员字段" in chinese  # the row's error in the reader's language
    at_mapping.refresh_from_db()
    assert not at_mapping.is_bound


def test_unknown_matching_keys_are_refused(admin_client, at_mapping):
    body = admin_client.post(
        reverse("providers:wizard", args=[at_mapping.pk, 4]),
        mapping_post(at_mapping, match_keys="userid, shoe_size"),
    ).content.decode()
    assert "Unknown matching key(s): shoe_size" in body


def row_index(provider, target: str) -> int:
    return [m.target for m in provider.field_mappings.order_by("position")].index(target)


def test_an_expression_error_is_shown_on_its_row_not_above_the_table(admin_client, at_mapping):
    data = mapping_post(at_mapping)
    i = row_index(at_mapping, "title")
    data.update({f"map-{i}-source_kind": "expression", f"map-{i}-source": "lowr(title)"})
    response = admin_client.post(reverse("providers:wizard", args=[at_mapping.pk, 4]), data)
    assert response.status_code == 200
    formset = response.context["formset"]
    assert not formset.non_form_errors()
    (error,) = formset.forms[i].non_field_errors()
    assert error.startswith("title:") and "lowr" in error
    rows = response.content.decode().split('<tr class="mapping-row')
    assert 'class="mapping-errors"' in rows[i + 1] and "lowr" in rows[i + 1]
    assert not at_mapping.is_bound


def test_a_duplicate_field_is_the_later_rows_error(admin_client, at_mapping):
    extra = [{"target": "title", "source_kind": "constant", "source": "x", "apply": "always"}]
    data = mapping_post(at_mapping, extra_rows=extra)
    response = admin_client.post(reverse("providers:wizard", args=[at_mapping.pk, 4]), data)
    forms = response.context["formset"].forms
    assert forms[-1].non_field_errors() and "duplicate" in forms[-1].non_field_errors()[0]
    assert not forms[row_index(at_mapping, "title")].non_field_errors()


def test_a_field_dingtalk_requires_and_no_row_maps_is_said_above_the_table(
    admin_client, at_mapping
):
    data = mapping_post(at_mapping)
    data[f"map-{row_index(at_mapping, 'name')}-DELETE"] = "on"
    response = admin_client.post(reverse("providers:wizard", args=[at_mapping.pk, 4]), data)
    assert any("name:" in e for e in response.context["formset"].non_form_errors())


def test_the_attribute_picker_lists_the_attributes_and_the_extra_ones_in_use(
    admin_client, at_mapping
):
    make_account("ann", extra={"badge": "A1", "floor": 3})
    html = admin_client.get(reverse("providers:wizard", args=[at_mapping.pk, 4])).content.decode()
    assert '<option value="display_name" selected>display_name</option>' in html
    assert '<option value="extra.badge">extra.badge</option>' in html
    assert '<option value="primary_org.name">' in html
    assert 'name="config_version"' in html  # the optimistic-concurrency field stays


def test_a_picked_attribute_becomes_the_rows_source(admin_client, at_mapping):
    make_account("ann", extra={"badge": "A1"})
    data = mapping_post(at_mapping)
    i = row_index(at_mapping, "title")
    data.update({f"map-{i}-attribute": "extra.badge", f"map-{i}-source": "stale text"})
    response = admin_client.post(reverse("providers:wizard", args=[at_mapping.pk, 4]), data)
    assert response.status_code == 302
    assert at_mapping.field_mappings.get(target="title").source == "extra.badge"


def test_modify_offers_cancel_back_to_the_provider_and_the_wizard_back(admin_client, at_mapping):
    url = reverse("providers:wizard", args=[at_mapping.pk, 4])
    detail = reverse("providers:detail", args=[at_mapping.pk])
    assert f'href="{detail}">Cancel</a>' not in admin_client.get(url).content.decode()
    assert admin_client.post(url, mapping_post(at_mapping)).status_code == 302
    html = admin_client.get(url).content.decode()
    assert f'href="{detail}">Cancel</a>' in html


def test_the_preview_shows_the_exact_payload_of_an_account(admin_client, at_mapping):
    account = make_account("zhangwei", display_name="张伟", mobile="13800138000", title="Engineer")
    data = mapping_post(at_mapping)
    data["preview_username"] = account.username
    body = admin_client.post(
        reverse("providers:mapping_preview", args=[at_mapping.pk]), data
    ).content.decode()
    assert "张伟" in body and "13800138000" in body and "Engineer" in body
    data["preview_username"] = "nobody"
    body = admin_client.post(
        reverse("providers:mapping_preview", args=[at_mapping.pk]), data
    ).content.decode()
    assert "No account has the username" in body


# --- provider pages ------------------------------------------------------------------------


def test_the_detail_page_reverifies_and_deletion_leaves_dingtalk_untouched(
    admin_client, at_mapping, sandbox
):
    assert admin_client.get(reverse("providers:detail", args=[at_mapping.pk])).status_code == 200
    assert admin_client.post(reverse("providers:verify", args=[at_mapping.pk])).status_code == 302
    sandbox.control("POST", "calls/reset")
    response = admin_client.post(reverse("providers:delete", args=[at_mapping.pk]))
    assert response.status_code == 302 and not IdentityProvider.objects.exists()
    assert sandbox.calls() == {}
    assert AuditEntry.objects.filter(action="provider.delete").exists()


def test_no_page_log_or_audit_entry_ever_holds_the_secret(admin_client, sandbox, caplog):
    app = sandbox.app()
    secret = app["app_secret"]
    provider = bind_step1(admin_client, sandbox, app)
    bodies = [verify(admin_client, provider).content.decode()]
    for step in (1, 2, 3):
        bodies.append(
            admin_client.get(reverse("providers:wizard", args=[provider.pk, step])).content.decode()
        )
    for name in ("providers:detail", "providers:delete"):
        bodies.append(admin_client.get(reverse(name, args=[provider.pk])).content.decode())
    bodies.append(admin_client.get(reverse("providers:list")).content.decode())
    assert all(secret not in body for body in bodies)
    assert secret not in caplog.text
    assert all(secret not in str(e.before) + str(e.after) for e in AuditEntry.objects.all())


@pytest.mark.parametrize(
    "name,args",
    [
        ("providers:list", []),
        ("providers:bind", []),
        ("providers:detail", [1]),
        ("providers:wizard", [1, 2]),
    ],
)
def test_anonymous_visitors_are_sent_to_login(client, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302 and "/login/" in response.url
