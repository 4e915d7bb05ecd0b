"""CSV import of organisations and accounts: decoding, row checks, commit, and its pages."""

import codecs
import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from dtconsole.access.services import SYSTEM
from dtconsole.directory import import_views, imports, services
from dtconsole.directory.models import Account, ImportBatch, Membership, Organization
from tests.factories import make_account, make_org

pytestmark = pytest.mark.django_db

ORG_HEADER = ["code", "name", "parent_code", "order"]
ACCOUNT_HEADER = [
    "username",
    "display_name",
    "mobile",
    "email",
    "job_number",
    "title",
    "work_place",
    "hired_date",
    "status",
    "organizations",
    "extra",
]


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def account_row(username: str = "zhangwei", **cells: str) -> list[str]:
    values = {
        "username": username,
        "display_name": "张伟",
        "mobile": "",
        "email": "",
        "job_number": "",
        "title": "",
        "work_place": "",
        "hired_date": "",
        "status": "",
        "organizations": "",
        "extra": "",
        **cells,
    }
    return [values[column] for column in ACCOUNT_HEADER]


def upload(kind: str, data: bytes) -> ImportBatch:
    return imports.import_upload(SYSTEM, kind=kind, filename=f"{kind}.csv", data=data)


def upload_accounts(*rows: list[str]) -> ImportBatch:
    return upload("accounts", csv_bytes(ACCOUNT_HEADER, list(rows)))


def upload_orgs(*rows: list[str]) -> ImportBatch:
    return upload("organizations", csv_bytes(ORG_HEADER, list(rows)))


def error_texts(batch: ImportBatch) -> list[str]:
    return [str(error) for error in imports.import_preview(batch).errors]


def commit(batch: ImportBatch) -> dict[str, int]:
    """Queue the import and run its job here (what a worker does), then the counts."""
    imports.import_commit(SYSTEM, batch)
    imports.import_run(batch.pk)
    batch.refresh_from_db()
    return {key: batch.summary.get(key) for key in ("created", "updated", "unchanged")}


def directory_counts() -> tuple[int, int, int]:
    return Organization.objects.count(), Account.objects.count(), Membership.objects.count()


def assert_commit_refused(batch: ImportBatch) -> None:
    before = directory_counts()
    with pytest.raises(imports.ImportRefused):
        imports.import_commit(SYSTEM, batch)
    assert directory_counts() == before
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED


@pytest.fixture
def rd():
    """A small existing tree: 研发中心 (RD) with one department under it (RD.FE)."""
    root = make_org("研发中心", code="RD")
    make_org("前端开发部", parent=root, code="RD.FE")
    return root


# --- good files commit fully -----------------------------------------------------------------


def test_a_good_organisations_file_with_a_bom_commits_with_parents_listed_after_children():
    data = "\ufeff" + "code,name,parent_code,order\r\n"
    data += "TEAM,支付团队,DEPT,5\r\nDEPT,Platform Engineering,HQ,\r\nHQ,星海科技,,\r\n"
    batch = upload("organizations", data.encode("utf-8"))
    assert imports.import_preview(batch).counts()["create"] == 3

    counts = commit(batch)

    assert counts == {"created": 3, "updated": 0, "unchanged": 0}
    team = Organization.objects.get(code="TEAM")
    dept, hq = team.parent, team.parent.parent
    assert (hq.code, hq.parent, dept.code, team.order) == ("HQ", None, "DEPT", 5)
    assert team.path == f"/{hq.pk}/{dept.pk}/{team.pk}/" and team.depth == 2
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.COMMITTED and batch.committed_at
    assert batch.summary["created"] == 3


def test_a_good_accounts_file_in_gb18030_commits_with_primary_and_extra_memberships(rd):
    rows = [
        account_row(
            "wangfang",
            display_name="王芳",
            mobile="13912345678",
            email="wang.fang@example.com",
            job_number="E0002",
            title="高级工程师",
            work_place="杭州",
            hired_date="2018-07-16",
            organizations="RD.FE;RD",
            extra='{"cost_center": "研发"}',
        ),
        account_row(
            "emily.chen",
            display_name="Emily Chen",
            mobile="+852-61234567",
            status="disabled",
            organizations="RD",
        ),
    ]
    data = csv_bytes(ACCOUNT_HEADER, rows, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    batch = upload("accounts", data)

    assert commit(batch)["created"] == 2

    wang = Account.objects.get(username="wangfang")
    assert (wang.display_name, wang.hired_date.isoformat()) == ("王芳", "2018-07-16")
    assert wang.extra == {"cost_center": "研发"} and wang.status == "active"
    primary = wang.memberships.get(is_primary=True)
    assert primary.organization.code == "RD.FE" and wang.memberships.count() == 2
    assert Account.objects.get(username="emily.chen").status == "disabled"


def test_header_names_are_case_insensitive_and_optional_columns_may_be_left_out():
    batch = upload("accounts", b"UserName, Display_Name ,MOBILE\nlilei,Li Lei,13700001111\n")
    commit(batch)
    assert Account.objects.get(username="lilei").mobile == "13700001111"


def test_existing_organisations_are_renamed_reordered_and_moved(rd):
    make_org("市场中心", code="MKT")
    batch = upload_orgs(["RD.FE", "Web Frontend", "MKT", "7"], ["RD", "研发中心", "", "0"])
    plan = imports.import_preview(batch)
    assert [row.action for row in plan.rows] == ["update", "unchanged"]

    assert commit(batch) == {"created": 0, "updated": 1, "unchanged": 1}

    fe, mkt = Organization.objects.get(code="RD.FE"), Organization.objects.get(code="MKT")
    assert (fe.name, fe.order, fe.parent_id) == ("Web Frontend", 7, mkt.pk)
    assert fe.path == f"{mkt.path}{fe.pk}/" and fe.depth == 1


def test_existing_accounts_are_updated_and_a_listed_organisations_cell_replaces_memberships(rd):
    fe = Organization.objects.get(code="RD.FE")
    account = make_account("zhangwei", orgs=[rd, fe], mobile="13800000001")
    make_org("市场中心", code="MKT")
    batch = upload_accounts(
        account_row("zhangwei", display_name="张伟伟", mobile="13800000001", organizations="MKT;RD")
    )
    assert imports.import_preview(batch).rows[0].action == "update"

    commit(batch)

    account.refresh_from_db()
    assert account.display_name == "张伟伟"
    codes = list(account.memberships.values_list("organization__code", "is_primary"))
    assert sorted(codes) == [("MKT", True), ("RD", False)]


def test_an_empty_organizations_cell_keeps_the_memberships_of_an_existing_account(rd):
    account = make_account("zhangwei", orgs=[rd], mobile="13800000001", email="")
    batch = upload_accounts(account_row("zhangwei", mobile="13800000001", title="Engineer"))
    commit(batch)
    assert list(account.memberships.values_list("organization__code", flat=True)) == ["RD"]


def test_a_file_that_changes_nothing_is_all_unchanged_rows():
    make_account("lilei", display_name="Li Lei", mobile="13700001111", email="")
    batch = upload_accounts(account_row("lilei", display_name="Li Lei", mobile="13700001111"))
    assert commit(batch) == {"created": 0, "updated": 0, "unchanged": 1}


def test_a_full_width_semicolon_also_separates_organisation_codes(rd):
    batch = upload_accounts(account_row("lilei", organizations="RD；RD.FE"))
    commit(batch)
    assert Membership.objects.filter(account__username="lilei").count() == 2


# --- bad rows: the right error, and nothing written ------------------------------------------

BAD_ACCOUNT_ROWS = [
    ("bad username", account_row("-zhang"), "row 2, username: Use 1 to 64 characters"),
    ("bad mobile", account_row(mobile="12345"), "row 2, mobile: “12345” is not a mainland mobile"),
    (
        "bad +86 mobile",
        account_row(mobile="+86-12345678901"),
        "row 2, mobile: “+86-12345678901” is not a mainland mobile number in use",
    ),
    (
        "unknown country code",
        account_row(mobile="+0-1234"),
        "row 2, mobile: “+0-1234” does not start with a country code in use.",
    ),
    (
        "not a mobile of that region",
        account_row(mobile="+852-41234567"),
        "row 2, mobile: “+852-41234567” is not a mobile number in use under country code +852",
    ),
    ("bad email", account_row(email="zhang@"), "row 2, email: Enter a valid email address."),
    ("bad date", account_row(hired_date="2024-13-01"), "row 2, hired_date: “2024-13-01”"),
    ("bad date format", account_row(hired_date="2024/1/5"), "row 2, hired_date: "),
    ("bad status", account_row(status="enabled"), "row 2, status: Value 'enabled' is not"),
    ("bad JSON", account_row(extra="{cost: 1}"), "row 2, extra: Not valid JSON"),
    ("JSON not an object", account_row(extra="[1, 2]"), "row 2, extra: Must be a JSON object"),
    (
        "unknown organisation",
        account_row(organizations="RD;NOPE"),
        "row 2, organizations: Unknown organisation code “NOPE”.",
    ),
    (
        "organisation listed twice",
        account_row(organizations="RD;RD"),
        "row 2, organizations: “RD” is listed twice.",
    ),
    ("missing name", account_row(display_name=""), "row 2, display_name: This field is required."),
    ("missing username", account_row(""), "row 2, username: This field is required."),
    (
        "name too long",
        account_row(display_name="x" * 81),
        "row 2, display_name: Ensure this value has at most 80 characters",
    ),
]


@pytest.mark.parametrize(
    ("row", "expected"),
    [case[1:] for case in BAD_ACCOUNT_ROWS],
    ids=[c[0] for c in BAD_ACCOUNT_ROWS],
)
def test_a_bad_account_row_names_row_and_column_and_nothing_is_written(rd, row, expected):
    batch = upload_accounts(row)
    errors = error_texts(batch)
    assert any(text.startswith(expected) for text in errors), errors
    assert_commit_refused(batch)


DUPLICATES = [
    (
        "username",
        account_row("dup"),
        account_row("dup"),
        "row 3, username: “dup” is also on row 2.",
    ),
    (
        "mobile",
        account_row("a1", mobile="13800000009"),
        account_row("a2", mobile="13800000009"),
        "row 3, mobile: “13800000009” is also on row 2.",
    ),
    (
        "email",
        account_row("a1", email="same@example.com"),
        account_row("a2", email="same@example.com"),
        "row 3, email: “same@example.com” is also on row 2.",
    ),
    (
        "mobile in another spelling",
        account_row("a1", mobile="13950052493"),
        account_row("a2", mobile="+86-13950052493"),
        "row 3, mobile: “+86-13950052493” is the same number as “13950052493” on row 2 "
        "(13950052493).",
    ),
    (
        "mobile in two other spellings",
        account_row("a1", mobile="+86 139 5005 2493"),
        account_row("a2", mobile="86-13950052493"),
        "row 3, mobile: “86-13950052493” is the same number as “+86 139 5005 2493” on row 2 "
        "(13950052493).",
    ),
    (
        "international mobile in another spelling",
        account_row("a1", mobile="+852-61234567"),
        account_row("a2", mobile="00852 6123 4567"),
        "row 3, mobile: “00852 6123 4567” is the same number as “+852-61234567” on row 2 "
        "(+852-61234567).",
    ),
]


@pytest.mark.parametrize(
    ("first", "second", "expected"), [d[1:] for d in DUPLICATES], ids=[d[0] for d in DUPLICATES]
)
def test_a_value_twice_in_the_file_is_an_error_on_the_later_row(first, second, expected):
    batch = upload_accounts(first, second)
    assert expected in error_texts(batch)
    assert_commit_refused(batch)


def test_a_mobile_or_email_of_another_existing_account_is_a_clash():
    make_account("old", mobile="13800000001", email="old@example.com")
    batch = upload_accounts(account_row("new", mobile="13800000001", email="old@example.com"))
    assert error_texts(batch) == [
        "row 2, mobile: “13800000001” already belongs to the existing account “old”.",
        "row 2, email: “old@example.com” already belongs to the existing account “old”.",
    ]
    assert_commit_refused(batch)


@pytest.mark.parametrize("typed", ["+86-13800000001", "+86 138 0000 0001", "8613800000001"])
def test_an_existing_accounts_number_in_another_spelling_is_a_clash(typed):
    make_account("old", mobile="13800000001")
    batch = upload_accounts(account_row("new", mobile=typed))
    assert error_texts(batch) == [
        f"row 2, mobile: “{typed}” is the number of the existing account “old” (13800000001)."
    ]
    assert_commit_refused(batch)


def test_a_mobile_is_imported_in_the_normal_form():
    batch = upload_accounts(
        account_row("a1", mobile="+86 139 5005 2493"), account_row("a2", mobile="00852-6123 4567")
    )
    commit(batch)
    stored = dict(Account.objects.values_list("username", "mobile"))
    assert stored == {"a1": "13950052493", "a2": "+852-61234567"}


def test_an_account_retyping_its_own_number_in_another_spelling_is_unchanged():
    make_account("old", display_name="张伟", mobile="13800000001", email="")
    batch = upload_accounts(account_row("old", mobile="+86-13800000001"))
    plan = imports.import_preview(batch)
    assert plan.errors == [] and plan.rows[0].action == imports.UNCHANGED


def test_an_account_keeping_its_own_mobile_and_email_is_no_clash():
    make_account("old", mobile="13800000001", email="old@example.com")
    batch = upload_accounts(account_row("old", mobile="13800000001", email="old@example.com"))
    assert error_texts(batch) == []


def test_every_error_of_a_row_is_listed_not_just_the_first():
    batch = upload_accounts(
        account_row("-x", mobile="1", email="x@", hired_date="soon", status="on", extra="{")
    )
    columns = [error.column for error in imports.import_preview(batch).errors]
    assert sorted(columns) == sorted(
        ["username", "mobile", "email", "hired_date", "status", "extra"]
    )


def test_a_short_row_has_empty_cells_and_empty_trailing_header_columns_are_ignored():
    batch = upload("accounts", b"username,display_name,mobile,,\r\nlilei,Li Lei\r\n")
    plan = imports.import_preview(batch)
    assert plan.is_valid and plan.rows[0].cells == ["lilei", "Li Lei", ""]


def test_a_utf8_file_with_a_bom_is_never_read_as_gb18030():
    with pytest.raises(ValidationError, match="neither UTF-8 nor GB18030"):
        upload("accounts", codecs.BOM_UTF8 + b"username,display_name\n" + b"\xff\n")


def test_a_row_with_more_cells_than_the_header_is_refused():
    batch = upload("accounts", b"username,display_name\nzhang,Zhang,surplus\n")
    assert error_texts(batch) == [
        "row 2: 1 cell(s) more than the header names; quote values that contain commas."
    ]
    assert_commit_refused(batch)


def test_a_duplicate_organisation_code_in_the_file_is_an_error():
    batch = upload_orgs(["A", "Alpha", "", ""], ["A", "Another", "", ""])
    assert "row 3, code: “A” is also on row 2." in error_texts(batch)
    assert_commit_refused(batch)


def test_a_parent_cycle_within_the_file_is_an_error_on_each_row_of_the_loop():
    batch = upload_orgs(["A", "Alpha", "B", ""], ["B", "Beta", "A", ""], ["C", "Gamma", "A", ""])
    errors = error_texts(batch)
    assert errors == [
        "row 2, parent_code: The parent chain loops: A → B → A.",
        "row 3, parent_code: The parent chain loops: A → B → A.",
    ]
    assert_commit_refused(batch)


def test_a_cycle_through_existing_organisations_is_an_error(rd):
    batch = upload_orgs(["RD", "研发中心", "RD.FE", ""])
    assert error_texts(batch) == ["row 2, parent_code: The parent chain loops: RD → RD.FE → RD."]
    assert_commit_refused(batch)


def test_an_organisation_cannot_be_its_own_parent():
    batch = upload_orgs(["A", "Alpha", "A", ""])
    assert error_texts(batch) == ["row 2, parent_code: An organisation cannot be its own parent."]
    assert_commit_refused(batch)


def test_an_unknown_parent_code_is_an_error():
    batch = upload_orgs(["A", "Alpha", "NOPE", ""])
    assert error_texts(batch) == [
        "row 2, parent_code: Unknown organisation code “NOPE”: it is neither in this file nor "
        "in the directory."
    ]
    assert_commit_refused(batch)


def test_forbidden_characters_in_an_organisation_name_are_an_error():
    batch = upload_orgs(["A", "Sales-East", "", ""], ["B", "华东，华南", "", ""])
    errors = error_texts(batch)
    assert errors[0].startswith("row 2, name: DingTalk does not accept “-”")
    assert errors[1].startswith("row 3, name: DingTalk does not accept “，”")
    assert_commit_refused(batch)


def test_sibling_name_clashes_in_the_file_and_with_existing_organisations_are_errors(rd):
    batch = upload_orgs(
        ["X1", "Team", "RD", ""], ["X2", "Team", "RD", ""], ["X3", "前端开发部", "RD", ""]
    )
    errors = error_texts(batch)
    assert "row 2, name: “Team” is already used under the same parent by row 3." in errors
    assert (
        "row 4, name: “前端开发部” is already used under the same parent by the existing "
        "organisation “RD.FE”." in errors
    )
    assert_commit_refused(batch)


def test_missing_organisation_values_and_a_bad_order_are_errors():
    batch = upload_orgs(["", "Alpha", "", ""], ["B", "", "", "first"])
    errors = error_texts(batch)
    assert "row 2, code: This field is required." in errors
    assert "row 3, name: This field is required." in errors
    assert "row 3, order: “first” value must be an integer." in errors
    assert_commit_refused(batch)


# --- file-level problems: refused at upload, no batch ----------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        ("accounts", b"username,display_name,phone\n", "Unknown column(s): “phone”."),
        ("accounts", b"username,mobile\nzhang,13800138000\n", "Missing required column(s): "),
        ("organizations", b"name,parent_code\nAlpha,\n", "Missing required column(s): code."),
        ("accounts", b"", "The file is empty"),
        ("accounts", b"username,display_name\n", "The file has a header but no data rows."),
        ("accounts", b"PK\x03\x04rest-of-a-zip", "This is an Excel workbook"),
        ("accounts", "username".encode("utf-16"), "This file is UTF-16 or binary."),
    ],
    ids=["unknown column", "missing column", "missing code", "empty", "no rows", "xlsx", "utf16"],
)
def test_a_file_level_problem_is_refused_at_upload_and_nothing_is_stored(kind, data, expected):
    with pytest.raises(ValidationError) as caught:
        upload(kind, data)
    assert caught.value.messages[0].startswith(expected)
    assert ImportBatch.objects.count() == 0 and directory_counts() == (0, 0, 0)


def test_a_missing_column_is_reported_before_any_row_is_checked():
    with pytest.raises(ValidationError, match="display_name"):
        upload("accounts", b"username\n-bad-\n")


def test_too_many_rows_are_refused_with_the_limit(settings):
    settings.DIRECTORY_IMPORT_MAX_ROWS = 2
    data = csv_bytes(ACCOUNT_HEADER, [account_row(f"u{i}") for i in range(3)])
    with pytest.raises(ValidationError, match="The file has 3 rows; one import takes at most 2"):
        upload("accounts", data)
    assert ImportBatch.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    data = csv_bytes(ACCOUNT_HEADER, [account_row(f"u{i}") for i in range(10)])
    with pytest.raises(ValidationError, match="The file is larger than 100"):
        upload("accounts", data)


def test_an_oversized_file_is_refused_on_the_upload_form(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    data = csv_bytes(ACCOUNT_HEADER, [account_row(f"u{i}") for i in range(10)])
    response = post_file(admin_client, "accounts", data)
    assert "The file is larger than 100" in response.content.decode()
    assert ImportBatch.objects.count() == 0


# --- commit: all or nothing ------------------------------------------------------------------


def test_a_committed_batch_cannot_be_committed_twice():
    batch = upload_accounts(account_row("lilei"))
    commit(batch)
    before = directory_counts()
    with pytest.raises(imports.ImportRefused, match="already imported"):
        imports.import_commit(SYSTEM, batch)
    assert directory_counts() == before


def test_a_row_refused_during_commit_rolls_back_every_row_and_marks_the_batch_failed(
    rd, monkeypatch
):
    real_create = services.account_create

    def flaky_create(actor, **fields):
        if fields["username"] == "third":
            raise services.DirectoryError("DingTalk-like race: somebody took it")
        return real_create(actor, **fields)

    monkeypatch.setattr(services, "account_create", flaky_create)
    batch = upload_accounts(
        account_row("first", organizations="RD"), account_row("second"), account_row("third")
    )
    commit(batch)

    assert directory_counts() == (2, 0, 0)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert "row 4" in batch.summary["error"]


def test_a_clash_that_appears_after_the_preview_refuses_the_commit():
    batch = upload_accounts(account_row("new", mobile="13800000001"))
    assert imports.import_preview(batch).is_valid
    make_account("someone", mobile="13800000001")
    commit(batch)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.summary["error"].startswith("1 row(s) have errors. Nothing was written")
    assert "13800000001" in batch.summary["error"]
    assert not Account.objects.filter(username="new").exists()


def test_the_preview_needs_a_handful_of_queries_whatever_the_number_of_rows(
    rd, django_assert_max_num_queries
):
    make_account("existing", orgs=[rd])
    rows = [account_row(f"user{i}", mobile=f"139{i:08d}", organizations="RD") for i in range(1500)]
    batch = upload_accounts(*rows, account_row("existing", organizations="RD.FE"))
    with django_assert_max_num_queries(12):
        plan = imports.import_preview(batch)
    assert plan.counts() == {"create": 1500, "update": 1, "unchanged": 0, "bad": 0, "rows": 1501}


# --- pages -----------------------------------------------------------------------------------


def post_file(client, kind: str, data: bytes, name: str = "people.csv"):
    upload_file = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(reverse("directory:import"), {"kind": kind, "file": upload_file})


def test_upload_preview_and_commit_through_the_pages(admin_client, rd, admin_user):
    page = admin_client.get(reverse("directory:import"))
    assert page.status_code == 200
    assert reverse("directory:import_sample", args=["accounts"]) in page.content.decode()

    response = post_file(admin_client, "accounts", csv_bytes(ACCOUNT_HEADER, [account_row()]))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("directory:import_preview", args=[batch.pk])
    assert batch.uploaded_by == admin_user and batch.filename == "people.csv"

    preview = admin_client.get(response.url).content.decode()
    assert "张伟" in preview and 'disabled aria-disabled="true"' not in preview

    started = admin_client.post(reverse("directory:import_commit", args=[batch.pk]), follow=True)
    text = started.content.decode()
    assert "The import has started" in text and "The import is queued" in text
    status_url = reverse("directory:import_status", args=[batch.pk])
    assert f'hx-get="{status_url}?poll=1"' in text  # polls while queued
    assert not Account.objects.filter(username="zhangwei").exists()

    imports.import_run(batch.pk)  # what the worker does
    poll = admin_client.get(status_url, {"poll": 1})
    assert poll["HX-Refresh"] == "true" and "hx-get" not in poll.content.decode()
    text = admin_client.get(response.url).content.decode()
    assert 'id="summary-created">1<' in text
    assert reverse("directory:org_tree") in text
    assert Account.objects.filter(username="zhangwei").exists()


def test_a_preview_with_bad_rows_shows_them_first_and_disables_the_commit(admin_client):
    rows = [account_row(f"good{i}") for i in range(5)] + [account_row("bad", mobile="123")]
    response = post_file(admin_client, "accounts", csv_bytes(ACCOUNT_HEADER, rows))
    text = admin_client.get(response.url).content.decode()
    assert "row 7, mobile: “123” is not a mainland mobile" in text
    assert text.index('id="row-7"') < text.index('id="row-2"')
    assert 'disabled aria-disabled="true"' in text

    batch = ImportBatch.objects.get()
    refused = admin_client.post(reverse("directory:import_commit", args=[batch.pk]), follow=True)
    assert "1 row(s) have errors. Nothing was written" in refused.content.decode()
    assert Account.objects.count() == 0


def test_bad_rows_come_first_even_when_the_preview_is_paginated(admin_client, monkeypatch):
    monkeypatch.setattr(import_views, "PREVIEW_PAGE_SIZE", 3)
    rows = [account_row(f"good{i}") for i in range(8)] + [account_row("-bad")]
    post_file(admin_client, "accounts", csv_bytes(ACCOUNT_HEADER, rows))
    batch = ImportBatch.objects.get()
    url = reverse("directory:import_preview", args=[batch.pk])
    first = admin_client.get(url).content.decode()
    assert "row 10, username:" in first and "Page 1 of 3" in first
    last = admin_client.get(url, {"page": 3}).content.decode()
    assert 'id="row-9"' in last
    only_bad = admin_client.get(url, {"show": "bad"}).content.decode()
    assert 'id="row-10"' in only_bad and 'id="row-2"' not in only_bad


def test_a_file_level_problem_is_shown_on_the_upload_form(admin_client):
    response = post_file(admin_client, "organizations", b"code,name,colour\n")
    assert response.status_code == 200
    assert "Unknown column(s): “colour”." in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_a_failed_commit_is_shown_on_the_preview_and_nothing_is_written(admin_client, monkeypatch):
    def broken_create(actor, **fields):
        raise services.DirectoryError("the directory is locked")

    monkeypatch.setattr(services, "account_create", broken_create)
    post_file(admin_client, "accounts", csv_bytes(ACCOUNT_HEADER, [account_row()]))
    batch = ImportBatch.objects.get()
    admin_client.post(reverse("directory:import_commit", args=[batch.pk]))
    imports.import_run(batch.pk)
    page = admin_client.get(reverse("directory:import_preview", args=[batch.pk]))
    assert "row 2: the directory is locked" in page.content.decode()
    assert Account.objects.count() == 0


def test_the_sample_files_download_and_import_cleanly(admin_client):
    for kind in ("organizations", "accounts"):
        response = admin_client.get(reverse("directory:import_sample", args=[kind]))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert f'filename="{kind}.csv"' in response["Content-Disposition"]
        data = b"".join(response.streaming_content)
        batch = upload(kind, data)
        plan = imports.import_preview(batch)
        assert plan.is_valid, [str(e) for e in plan.errors]
        commit(batch)
    assert Account.objects.filter(mobile__startswith="+852-").exists()
    assert Account.objects.filter(display_name="张伟").exists()
    multi = [a for a in Account.objects.all() if a.memberships.count() > 1]
    assert multi and all(a.memberships.filter(is_primary=True).count() == 1 for a in multi)


def test_an_unknown_sample_kind_is_not_found(admin_client):
    assert admin_client.get("/directory/import/sample/people.csv").status_code == 404


def test_the_import_urls_are_where_the_console_expects_them():
    assert reverse("directory:import") == "/directory/import/"
    assert reverse("directory:import_preview", args=[7]) == "/directory/import/7/"
    assert reverse("directory:import_sample", args=["accounts"]) == (
        "/directory/import/sample/accounts.csv"
    )


def test_anonymous_users_are_sent_to_the_login_page_from_every_import_page(client):
    batch = upload_accounts(account_row())
    pages = [
        ("get", reverse("directory:import")),
        ("get", reverse("directory:import_preview", args=[batch.pk])),
        ("post", reverse("directory:import_commit", args=[batch.pk])),
        ("get", reverse("directory:import_sample", args=["accounts"])),
    ]
    for method, url in pages:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url
    assert Account.objects.count() == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "nests deeper than 20 levels"),
        ('{"a": "' + "x" * 70_000 + '"}', "at most 65536 bytes"),
    ],
)
def test_unbounded_extra_attributes_are_a_row_error_not_a_broken_preview(extra, message):
    batch = upload_accounts(account_row(extra=extra))
    [error] = error_texts(batch)
    assert error.startswith("row 2, extra:") and message in error


def test_the_stored_errors_read_in_each_readers_language(admin_client):
    rows = [account_row("good"), account_row("nameless", display_name="")]
    post_file(admin_client, "accounts", csv_bytes(ACCOUNT_HEADER, rows))
    url = reverse("directory:import_preview", args=[ImportBatch.objects.get().pk])
    with translation.override("en"):  # the requests activate a language: keep it here
        english = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        chinese = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "row 3, display_name: This field is required." in english
    assert "第3行，display_name：此字段为必填项。" in chinese
    assert "This field is required." not in chinese


def test_an_update_shows_each_value_it_overwrites_before_and_after(admin_client):
    root = make_org("云杉集团", code="HQ")
    make_org("财务中心", code="FIN", parent=root, order=3)
    data = csv_bytes(ORG_HEADER, [["HQ", "星海科技", "", ""], ["FIN", "财务中心", "HQ", "5"]])
    text = admin_client.get(post_file(admin_client, "organizations", data).url).content.decode()
    assert ">云杉集团</del> → <ins" in text and ">星海科技</ins>" in text  # the root's rename
    assert ">3</del> → <ins" in text and ">5</ins>" in text
    assert text.count("<del ") == 2  # FIN's name and parent stay: no diff shown for them


def test_an_account_update_shows_its_fields_and_organisations_before_and_after(admin_client, rd):
    fe = Organization.objects.get(code="RD.FE")
    make_account("zhangwei", display_name="张伟", orgs=[rd, fe], mobile="13800000001")
    make_org("市场中心", code="MKT")
    row = account_row("zhangwei", display_name="张伟伟", mobile="13800000001", organizations="MKT")
    text = admin_client.get(
        post_file(admin_client, "accounts", csv_bytes(ACCOUNT_HEADER, [row])).url
    )
    html = text.content.decode()
    assert ">张伟</del> → <ins" in html and ">张伟伟</ins>" in html
    assert ">RD;RD.FE</del> → <ins" in html and ">MKT</ins>" in html
    (stored,) = ImportBatch.objects.get().checked_rows.all()
    assert stored.changes["organizations"] == ["RD;RD.FE", "MKT"]
    assert "mobile" not in stored.changes


def test_a_rows_errors_are_shown_before_its_cells(admin_client):
    wide = account_row("bad", mobile="123", email="x" * 40 + "@example.com")
    html = admin_client.get(
        post_file(admin_client, "accounts", csv_bytes(ACCOUNT_HEADER, [wide])).url
    ).content.decode()
    row = html[html.index('id="row-2"') :]
    assert row.index("row-errors") < row.index("@example.com")
