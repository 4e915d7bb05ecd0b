"""How a sync records what DingTalk confirmed: events and links, group-committed."""

import threading

import pytest
from django.db import connection

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services as directory
from dtconsole.directory.models import Account
from dtconsole.sync.apply import LinkWrite, Recorder
from dtconsole.sync.models import SyncEvent, UserLink
from dtconsole.sync.plan import A, Op
from dtconsole.sync.services import sync_job_enqueue
from tests.factories import make_account, make_org, make_provider
from tests.test_sync_engine import dingtalk, run_full

CREATE = "/topapi/v2/user/create"


@pytest.mark.django_db(transaction=True)
def test_an_account_deleted_while_dingtalk_creates_it_leaves_dingtalk_on_the_next_run(sandbox):
    company = make_org("Company", code="co")
    ann = make_account("ann", orgs=[company])
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)], deletion_threshold_percent=100)
    # DingTalk creates the user, then takes 1.5 s to answer; the account goes meanwhile.
    sandbox.control("POST", "faults", path=CREATE, kind="slow", delay=1.5)

    def delete_ann() -> None:
        directory.account_delete(SYSTEM, Account.objects.get(pk=ann.pk))
        connection.close()

    deleter = threading.Timer(0.5, delete_ann)
    deleter.start()
    job = run_full(provider)
    deleter.join()

    assert job.status == "succeeded", job.error
    link = UserLink.objects.get(provider=provider, username="ann")
    assert link.account_id is None and link.account_ref == ann.pk
    assert "ann" in dingtalk(sandbox, provider.corp_id)[1]

    job = run_full(provider)
    assert job.status == "succeeded", job.error
    assert "ann" not in dingtalk(sandbox, provider.corp_id)[1]
    assert not UserLink.objects.filter(provider=provider).exists()


def _user_op(account) -> Op:
    return Op(
        object_type=SyncEvent.ObjectType.USER,
        action=A.CREATE,
        source_id=account.pk,
        source_name=account.display_name,
        source_key=account.username,
    )


def _link(account, userid: str) -> LinkWrite:
    values = {"account_id": account.pk, "username": account.username, "userid": userid}
    return LinkWrite(UserLink, {"account_ref": account.pk}, values)


@pytest.mark.django_db
def test_a_link_refused_by_the_database_fails_only_its_own_object(sandbox):
    company = make_org("Company", code="co")
    ann, bob, cai = (make_account(name, orgs=[company]) for name in ("ann", "bob", "cai"))
    provider = make_provider(sandbox, sandbox.app(), [(company, 1)])
    job = sync_job_enqueue(SYSTEM, provider, kind="full", trigger="manual")
    recorder = Recorder(job)
    recorder._committing = True  # as while another thread commits: the three share a batch
    for account, userid in ((ann, "u-ann"), (bob, "u-ann"), (cai, "u-cai")):
        recorder.event(
            _user_op(account),
            SyncEvent.Status.SUCCESS,
            started=0,
            writes=[_link(account, userid)],
        )
    assert not SyncEvent.objects.filter(job=job).exists()  # queued, not yet committed
    recorder._committing = False
    recorder.flush()

    events = {e.source_key: e for e in SyncEvent.objects.filter(job=job)}
    assert events["ann"].status == events["cai"].status == "success"
    assert events["bob"].status == "failed"
    assert "could not be saved" in events["bob"].text
    assert "run the sync again" in events["bob"].text
    links = dict(UserLink.objects.values_list("username", "userid"))
    assert links == {"ann": "u-ann", "cai": "u-cai"}
    assert recorder.counters == {"user_create": 2, "failed": 1}
