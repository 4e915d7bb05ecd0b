"""The one upsert path: the CSV import and the API bulk upsert check and write the same way."""

import pytest

from dtconsole.access.services import SYSTEM
from dtconsole.directory import imports, upsert
from dtconsole.directory.models import Account, Organization
from tests.api_helpers import V1
from tests.factories import make_account, make_org

pytestmark = pytest.mark.django_db


def csv_messages(kind: str, text: str) -> list[tuple[str, str]]:
    batch = imports.import_upload(SYSTEM, kind=kind, filename="f.csv", data=text.encode())
    return [(e.column, e.message) for e in imports.import_preview(batch).errors]


def api_messages(staff, path: str, items: list[dict]) -> list[tuple[str, str]]:
    response = staff.post(f"{V1}/{path}/bulk_upsert/", items, format="json")
    assert response.status_code == 400
    return [(e["field"], e["message"]) for e in response.json()["errors"]]


def test_an_unknown_organisation_code_reads_the_same_in_a_file_and_in_a_request(staff):
    make_account("taken", email="taken@example.com")
    text = "username,display_name,email,organizations\nann,Ann,taken@example.com,nope\n"
    items = [
        {"username": "ann", "display_name": "Ann", "email": "taken@example.com",
         "organizations": ["nope"]}
    ]  # fmt: skip
    expected = [
        ("email", "“taken@example.com” already belongs to the existing account “taken”."),
        ("organizations", "Unknown organisation code “nope”."),
    ]
    assert csv_messages("accounts", text) == expected
    assert api_messages(staff, "accounts", items) == expected


def test_a_parent_cycle_reads_the_same_in_a_file_and_in_a_request(staff):
    text = "code,name,parent_code\na,A,b\nb,B,a\n"
    items = [{"code": "a", "name": "A", "parent": "b"}, {"code": "b", "name": "B", "parent": "a"}]
    from_file = csv_messages("organizations", text)
    assert [m for _c, m in from_file] == [
        m for _f, m in api_messages(staff, "organizations", items)
    ]
    assert from_file[0] == ("parent_code", "The parent chain loops: a → b → a.")


def test_an_item_absent_values_are_kept_and_a_new_one_needs_a_name():
    make_org("Old", code="old", order=3)
    rows = upsert.rows_from_items("organizations", [{"code": "old"}, {"code": "new"}])
    with pytest.raises(upsert.UpsertRefused) as refused:
        upsert.upsert(SYSTEM, "organizations", rows, action="organization.bulk_upsert")
    assert [(e.row, e.column) for e in refused.value.errors] == [(1, "name")]
    rows = upsert.rows_from_items("organizations", [{"code": "old", "order": 5}])
    [written] = upsert.upsert(SYSTEM, "organizations", rows, action="organization.bulk_upsert")
    assert written.action == upsert.UPDATE
    assert Organization.objects.get(code="old").name == "Old"
    assert not Account.objects.exists()
