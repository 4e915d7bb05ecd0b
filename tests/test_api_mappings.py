"""The field mapping API: rows of one provider, saved through provider_save_mappings (checked
by the mapping engine, audited), and a preview of what an account becomes in DingTalk."""

import pytest

from dtconsole.audit.models import AuditEntry
from tests.api_helpers import V1, if_match, make_user, offline_provider, results, token_client
from tests.factories import make_account, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider():
    return offline_provider([(make_org("Company"), 1)])


def url(provider, target: str = "") -> str:
    base = f"{V1}/providers/{provider.pk}/mappings/"
    return f"{base}{target}/" if target else base


def targets(provider) -> list[str]:
    return list(provider.field_mappings.order_by("position").values_list("target", flat=True))


def test_the_default_rows_are_listed_in_order_and_shown_by_target(staff, provider):
    rows = results(staff.get(url(provider)))
    assert [r["target"] for r in rows] == [
        "name",
        "mobile",
        "email",
        "title",
        "job_number",
        "userid",
    ]
    row = staff.get(url(provider, "userid")).json()
    assert (row["source"], row["apply"], row["position"]) == ("username", "create_only", 5)


def test_an_unknown_provider_or_target_answers_404(staff, provider):
    assert staff.get(f"{V1}/providers/999999/mappings/").status_code == 404
    assert staff.get(url(provider, "nope")).status_code == 404
    assert staff.get(f"{V1}/providers/{'9' * 21}/mappings/name/").status_code == 404


def test_a_row_is_added_and_the_change_is_audited(staff, provider):
    body = {"target": "work_place", "source_kind": "attribute", "source": "work_place"}
    response = staff.post(url(provider), body, **if_match(staff, provider))
    assert response.status_code == 201, response.content
    assert response.json()["position"] == 6
    assert targets(provider)[-1] == "work_place"
    entry = AuditEntry.objects.get(action="provider.save_mappings")
    assert entry.actor_name == "admin"
    assert "work_place <- attribute:work_place (always)" in entry.after["mappings"]


def test_a_row_can_be_inserted_at_a_position(staff, provider):
    body = {"target": "remark", "source_kind": "constant", "source": "synced", "position": 0}
    assert staff.post(url(provider), body, **if_match(staff, provider)).status_code == 201
    assert targets(provider)[:2] == ["remark", "name"]


def test_a_row_the_engine_refuses_answers_400_naming_the_field(staff, provider):
    body = {"target": "workplace", "source_kind": "attribute", "source": "work_place"}
    response = staff.post(url(provider), body, **if_match(staff, provider))
    assert response.status_code == 400
    message = response.json()["non_field_errors"][0]
    assert message.startswith("workplace:") and 'did you mean "work_place"' in message
    assert "workplace" not in targets(provider)


def test_a_duplicate_target_answers_400(staff, provider):
    body = {"target": "title", "source_kind": "constant", "source": "x"}
    response = staff.post(url(provider), body, **if_match(staff, provider))
    assert response.status_code == 400
    assert "mapped more than once" in response.json()["non_field_errors"][0]


def test_a_bad_expression_answers_400(staff, provider):
    body = {"source_kind": "expression", "source": "lowr("}
    response = staff.patch(url(provider, "title"), body, **if_match(staff, provider))
    assert response.status_code == 400
    assert response.json()["non_field_errors"][0].startswith("title:")


def test_a_row_is_changed_in_place_with_patch_and_put(staff, provider):
    response = staff.patch(
        url(provider, "title"), {"default": "Staff"}, **if_match(staff, provider)
    )
    assert response.status_code == 200, response.content
    assert (response.json()["default"], response.json()["position"]) == ("Staff", 3)
    body = {"target": "title", "source_kind": "constant", "source": "Employee"}
    response = staff.put(url(provider, "title"), body, **if_match(staff, provider))
    assert response.status_code == 200
    row = provider.field_mappings.get(target="title")
    assert (row.source_kind, row.source, row.default, row.position) == (
        "constant",
        "Employee",
        "",
        3,
    )


def test_a_row_is_deleted_unless_dingtalk_requires_it(staff, provider):
    assert staff.delete(url(provider, "title"), **if_match(staff, provider)).status_code == 204
    assert "title" not in targets(provider)
    response = staff.delete(url(provider, "name"), **if_match(staff, provider))
    assert response.status_code == 400
    assert "requires this field" in response.json()["non_field_errors"][0]


def test_preview_shows_the_payload_by_username_or_account_id(staff, provider):
    ann = make_account("ann", display_name="Ann", mobile="13800138000", title="Engineer")
    response = staff.post(url(provider) + "preview/", {"username": "ann"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True and body["errors"] == []
    assert body["payload"]["userid"] == "ann" and body["payload"]["mobile"] == "13800138000"
    assert staff.post(url(provider) + "preview/", {"account": ann.pk}).json() == body


def test_preview_reports_the_engines_errors(staff, provider):
    make_account("nomobile", mobile="")
    body = staff.post(url(provider) + "preview/", {"username": "nomobile"}).json()
    assert body["ok"] is False
    assert [e["target"] for e in body["errors"]] == ["mobile"]


def test_preview_of_an_unknown_account_answers_404_and_of_nobody_400(staff, provider):
    assert staff.post(url(provider) + "preview/", {"username": "ghost"}).status_code == 404
    assert staff.post(url(provider) + "preview/", {}).status_code == 400


def test_a_viewer_previews_but_cannot_change_rows(provider):
    make_account("ann")
    viewer = token_client(make_user("viewer"))
    assert viewer.post(url(provider) + "preview/", {"username": "ann"}).status_code == 200
    body = {"target": "work_place", "source_kind": "attribute", "source": "work_place"}
    assert viewer.post(url(provider), body).status_code == 403
    assert viewer.delete(url(provider, "title")).status_code == 403
