"""Every page of a seeded, synced console in a zh-CN chromium: no English words of the console.

"English words of the console" are the words of the catalogue's msgids that its Chinese
translations do not keep (so AppKey, userid, QPS, CSV and other terms the glossary keeps in
Latin letters are allowed). User data is seeded in Chinese or as identifiers; what is left
out of the check is what only holds data or identifiers: <code>, inputs and the sandbox's
own page. A page whose visible text holds such a word fails with the word and its context.
"""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from dtconsole.access.services import SYSTEM
from dtconsole.audit.services import audit_record
from dtconsole.directory import imports
from dtconsole.sync import engine
from dtconsole.sync.models import SyncEvent, SyncJob
from tests.conftest import ADMIN_PASSWORD
from tests.factories import make_account, make_org, make_provider
from tests.test_permission_matrix import PAGES
from tests.test_translations import parse_po

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CATALOGUE = Path(__file__).resolve().parent.parent / "locale/zh_Hans/LC_MESSAGES/django.po"
WORD = re.compile(r"[A-Za-z][A-Za-z']{3,}")
# Words the check cannot hold against a page: product and format names that stay in Latin
# letters in Chinese too (the glossary), and the console's own name.
KEPT = {"dtconsole", "DingTalk", "Token", "Swagger", "OpenAPI", "UTC"}


def english_words() -> set[str]:
    entries = parse_po(CATALOGUE)
    said = {w for e in entries for w in WORD.findall(e.msgid + " " + e.msgid_plural)}
    kept = {w for e in entries for s in e.msgstr for w in WORD.findall(s)}
    placeholders = {w for e in entries for w in re.findall(r"%\((\w+)\)", e.msgid)}
    return {w for w in said - kept - placeholders - KEPT if not w.isupper()}


VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  const data = 'code, pre, input, textarea, select, script, style, [hidden]';
  // Text in another language on purpose: the language switch's "English".
  copy.querySelectorAll(data + ', [lang]:not([lang^="zh"])').forEach((n) => n.remove());
  return copy.innerText;
}"""


@pytest.fixture
def console(sandbox, django_user_model):
    """A directory, a provider bound to the sandbox and synced, a failed event, a job waiting
    for approval, an import and audit entries: every page has something to show."""
    admin_user = django_user_model.objects.create_superuser("zhuguan", password=ADMIN_PASSWORD)
    company = make_org("云杉集团", code="yunshan")
    finance = make_org("财务中心", parent=company, code="fin")
    people = [
        make_account(
            f"zhang{n}",
            orgs=[finance],
            display_name=f"张{n}",
            title="会计",
            email=f"zhang{n}@yunshan.cn",
        )
        for n in range(3)
    ]
    provider = make_provider(
        sandbox, sandbox.app(), [(company, 1)], name="钉钉测试", incremental_enabled=True
    )
    from dtconsole.sync.services import sync_job_enqueue

    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    engine.run_job(job.pk)
    waiting = SyncJob.objects.create(
        provider=provider,
        kind="full",
        trigger="manual",
        status="awaiting_approval",
        planned_deletions=[
            {
                "object_type": "user",
                "source_id": people[0].pk,
                "dingtalk_id": "zhang0",
                "name": "张0",
                "key": "zhang0",
            }
        ],
        error="%(why)s Approve or reject the deletions listed on this page; nothing was changed.",
        error_args={"why": {"msgid": "Every change failed: see the events.", "args": {}}},
    )
    SyncEvent.objects.create(
        job=waiting,
        provider=provider,
        object_type="user",
        source_id=people[1].pk,
        source_name="张1",
        source_key="zhang1",
        action="update",
        status="failed",
        message="The field mapping failed: %(errors)s",
        message_args={"errors": "—"},
        errcode="60104",
        detail="[60104] 手机号码在公司中已存在",
        hint="Another DingTalk user already has this mobile: change the account's mobile, "
        "or link the account to that DingTalk user (add mobile to the provider's mapping "
        "identity).",
    )
    data = "code,name,parent_code,order\nhr,人力资源,yunshan,1\n".encode()
    batch = imports.import_upload(SYSTEM, kind="organizations", filename="部门.csv", data=data)
    audit_record(admin_user, "provider.verify", provider, after={"ok": True})
    return {
        "company": company,
        "team": finance,
        "ann": people[0],
        "secondary": people[0].memberships.get(),
        "provider": provider,
        "queued": job,
        "waiting": waiting,
        "batch": batch,
        "target": admin_user,
        "kind": "organizations",
        "user": "user",
        "step": 1,
    }


def chinese_page(chromium, live_server):
    context = chromium.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "zhuguan")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/**")
    return context, page


def pages_to_walk(console) -> list[str]:
    """Every page an administrator reads with GET (the permission matrix lists them all)."""
    urls = []
    for name, row in sorted(PAGES.items()):
        if row.method != "get" or row.status is not None or name.startswith("api:"):
            continue
        if name in ("logout", "login", "no_access", "accounts:dingtalk_start"):
            continue
        if name == "directory:import_sample":  # a CSV file, not a page
            continue
        args = [getattr(console[a], "pk", console[a]) for a in row.args]
        url = reverse(name, args=args) + (f"?{row.query}" if row.query else "")
        urls.append(url)
    return urls


def test_every_page_reads_in_chinese_for_a_zh_cn_browser(chromium, live_server, console):
    words = english_words()
    assert {"Provider", "Delete", "Sync"} & words  # the check has teeth
    context, page = chinese_page(chromium, live_server)
    found: dict[str, list[str]] = {}
    try:
        for url in pages_to_walk(console):
            page.goto(live_server.url + url)
            text = page.evaluate(VISIBLE_TEXT)
            hits = sorted({w for w in WORD.findall(text) if w in words})
            if hits:
                found[url] = [_context(text, w) for w in hits[:5]]
    finally:
        context.close()
    assert found == {}, "English left on Chinese pages:\n" + "\n".join(
        f"{url}: {hits}" for url, hits in found.items()
    )


def _context(text: str, word: str) -> str:
    at = text.find(word)
    return text[max(0, at - 30) : at + len(word) + 30].replace("\n", " ")


def test_the_walk_covers_every_page_an_administrator_reads(console):
    walked = pages_to_walk(console)
    gets = [n for n, r in PAGES.items() if r.method == "get" and r.status is None]
    pages = [n for n in gets if not n.startswith("api:")]
    # every page but the login, no-access and DingTalk-redirect ones and the sample CSV file
    assert len(walked) == len(pages) - 4, sorted(pages)
    assert {"/", reverse("audit:list"), reverse("access:user_list")} <= set(walked)
