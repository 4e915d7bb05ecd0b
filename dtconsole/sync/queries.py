"""Read-side helpers of the sync pages: job and event lists, keyset pages, object timelines.

Nothing here writes. Event lists are read newest first by id with keyset pagination
(``before``/``after`` an id, never OFFSET, never a COUNT of the table), and every filter and
search term is one that an index of ``SyncEvent`` serves, so a page costs the same at a
million events as at a hundred.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Left
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThan
from django.utils import timezone

from connectors.dingtalk.types import Department, User
from dtconsole.directory.models import Account, Organization
from dtconsole.providers.models import IdentityProvider, NodeScope

from . import heartbeat
from .models import (
    DepartmentLink,
    PendingChange,
    SyncEvent,
    SyncJob,
    UserConflict,
    UserLink,
    WorkerHeartbeat,
)
from .remote import RemoteState

PAGE_SIZE = 50
# Sorts after every character a name, username, userid or mobile holds: "q" <= x < q + HIGH is
# "x starts with q" as a range, which a plain b-tree index serves on SQLite and PostgreSQL
# alike (a LIKE 'q%' uses the index on neither without a special collation or opclass).
HIGH = "\U0010ffff"
SEARCH_COLUMNS = ("source_name", "source_key", "dingtalk_id", "mobile")
# A search or period matching this many events is "broad": walking events newest first finds a
# page of them sooner than sorting every match would.
BROAD_MATCHES = 2000
ID_SLACK = timedelta(hours=1)

EVENT_LIST_COLUMNS = (
    "job_id",
    "provider__name",
    "object_type",
    "source_id",
    "source_name",
    "source_key",
    "mobile",
    "dingtalk_id",
    "action",
    "status",
    "changes",
    "errcode",
    "sub_code",
    "message",
    "message_args",
    "detail",
    "hint",
    "hint_args",
    "created_at",
)


# --- keyset pagination ---------------------------------------------------------------------------


@dataclass
class KeysetPage:
    """One page of rows, newest first, and the cursors of the pages around it."""

    items: list[Any]
    newer: int | None = None  # ?after=<newer> shows the page before this one
    older: int | None = None  # ?before=<older> shows the page after this one

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def has_other_pages(self) -> bool:
        return self.newer is not None or self.older is not None


def cursor(params: Mapping[str, str], name: str) -> int | None:
    """A positive integer cursor from the query string, None when absent or malformed."""
    value = str(params.get(name, "")).strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


def keyset_page(
    rows: QuerySet,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> KeysetPage:
    """A page of ``rows`` ordered by id descending: the newest, those below ``before`` or
    those just above ``after``. One query for the page (it reads ``size + 1`` rows to know if
    more follow) and, for a page reached through a cursor, one indexed EXISTS for the other side.
    """
    if after is not None:
        items = list(rows.filter(id__gt=after).order_by("id")[: size + 1])
        more_newer = len(items) > size
        items = items[:size][::-1]
        more_older = rows.filter(id__lte=after).exists()
    else:
        scoped = rows.filter(id__lt=before) if before is not None else rows
        items = list(scoped.order_by("-id")[: size + 1])
        more_older = len(items) > size
        items = items[:size]
        more_newer = before is not None and rows.filter(id__gte=before).exists()
    if not items:
        return KeysetPage([])
    return KeysetPage(
        items,
        newer=items[0].pk if more_newer else None,
        older=items[-1].pk if more_older else None,
    )


# --- jobs ----------------------------------------------------------------------------------------


def job_list(
    *, provider: IdentityProvider | None = None, status: str = "", kind: str = ""
) -> QuerySet[SyncJob]:
    """Jobs newest first with the provider and requester names the list shows."""
    jobs = SyncJob.objects.select_related("provider", "requested_by").only(
        *(f.name for f in SyncJob._meta.concrete_fields if f.name != "scope"),
        "provider__name",
        "requested_by__username",
    )
    exact = {"provider": provider, "status": status, "kind": kind}
    return jobs.filter(**{k: v for k, v in exact.items() if v}).order_by("-id")


def has_active(jobs: Iterable[SyncJob]) -> bool:
    """Whether any of ``jobs`` is queued or running (then its page keeps polling)."""
    return any(is_active(job) for job in jobs)


def is_active(job: SyncJob) -> bool:
    return job.status in (SyncJob.Status.QUEUED, SyncJob.Status.RUNNING)


@dataclass
class CounterSummary:
    """A job's counters folded into the totals a person reads."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    matched: int = 0
    failed: int = 0
    skipped: int = 0
    planned: int = 0
    pending_deletions: int = 0
    rejected: int = 0
    unlinked: int = 0

    @property
    def is_empty(self) -> bool:
        return not any(vars(self).values())


# Engine counters are "<object type>_<action>" for each success, plus "failed", "skipped",
# "planned" and "pending_deletions".
_SUFFIXES = {"_create": "created", "_update": "updated", "_move": "updated", "_delete": "deleted"}
_SUFFIXES["_match"] = "matched"
_SUFFIXES["_skip"] = "unlinked"  # a deletion that only forgot the link (the object stays)
_PLAIN = ("failed", "skipped", "planned", "pending_deletions", "rejected")


def counter_summary(counters: Mapping[str, Any] | None) -> CounterSummary:
    """Totals of a job's counters (unknown keys are ignored)."""
    summary = CounterSummary()
    for key, value in (counters or {}).items():
        if not isinstance(value, int):
            continue
        name = key if key in _PLAIN else _SUFFIXES.get(key[key.rfind("_") :], "")
        if name:
            setattr(summary, name, getattr(summary, name) + value)
    return summary


def job_duration(job: SyncJob) -> float | None:
    """Seconds the job ran (so far, while it runs); None before it started and while it
    waits for approval (it is not running, and waiting is not its duration)."""
    if job.started_at is None or job.status == SyncJob.Status.AWAITING_APPROVAL:
        return None
    end = job.finished_at or timezone.now()
    return max((end - job.started_at).total_seconds(), 0.0)


def job_events(job: SyncJob, *, status: str = "") -> QuerySet[SyncEvent]:
    """The events of one job (served by the (job, -id) index)."""
    events = SyncEvent.objects.filter(job=job).only(*_event_columns(with_provider=False))
    return events.filter(status=status) if status else events


def change_rows(changes: Any) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for each entry of an event's ``changes`` (``field -> [old, new]``),
    by field name (PostgreSQL's jsonb does not keep the order the engine wrote)."""
    if not isinstance(changes, dict):
        return []
    rows = []
    for name, value in sorted(changes.items()):
        pair = isinstance(value, list | tuple) and len(value) == 2
        rows.append((str(name), *(value if pair else (None, value))))
    return rows


def with_diffs(page: KeysetPage) -> KeysetPage:
    """Give every event of ``page`` its ``diff``: the rows of ``change_rows``."""
    for event in page:
        event.diff = change_rows(event.changes)
    return page


def _event_columns(*, with_provider: bool) -> list[str]:
    columns = [c for c in EVENT_LIST_COLUMNS if c != "provider__name"]
    return [*columns, "provider__name"] if with_provider else [*columns, "provider_id"]


# --- events --------------------------------------------------------------------------------------


@dataclass
class EventFilters:
    """What the event list is narrowed to; every field is optional."""

    provider: IdentityProvider | None = None
    job: int | None = None
    object_type: str = ""
    action: str = ""
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    failing: bool = False  # only the latest failed attempt of each object failing now


def event_list(filters: EventFilters) -> QuerySet[SyncEvent]:
    """Events matching ``filters``, with the provider name joined (one query a page)."""
    events = SyncEvent.objects.select_related("provider").only(*_event_columns(with_provider=True))
    exact = {
        "provider": filters.provider,
        "job_id": filters.job,
        "object_type": filters.object_type,
        "action": filters.action,
        "status": filters.status,
    }
    events = events.filter(**{k: v for k, v in exact.items() if v not in (None, "")})
    if filters.since is not None or filters.until is not None:
        events = events.filter(event_period(filters.since, filters.until))
    if query := filters.q.strip():
        events = events.filter(event_search(query))
    if filters.failing:
        providers = [filters.provider] if filters.provider else IdentityProvider.objects.all()
        events = events.filter(failing_now(providers))
    return events


def event_period(since: datetime | None, until: datetime | None) -> Q:
    """Events created in [since, until).

    A short period is read through the created_at index and sorted. A long one would sort
    every event in it, so instead it becomes a range of ids (events are numbered in the order
    they are written, and written as they are created; ``ID_SLACK`` more than covers writers
    interleaving) walked newest first, with the exact times checked on each row.
    """
    period = Q(**{k: v for k, v in (("created_at__gte", since), ("created_at__lt", until)) if v})
    if not _at_least(SyncEvent.objects.filter(period), BROAD_MATCHES):
        return period
    newest = SyncEvent.objects.order_by("-created_at", "-id").values_list("id", flat=True)
    oldest = SyncEvent.objects.order_by("created_at", "id").values_list("id", flat=True)
    bounds = Q()
    if until is not None:
        bounds &= Q(id__lte=newest.filter(created_at__lt=until + ID_SLACK).first() or 0)
    if since is not None:
        bounds &= Q(id__gte=oldest.filter(created_at__gte=since - ID_SLACK).first() or 0)
    exact = [
        Q(lookup(Coalesce("created_at", "created_at"), v))
        for lookup, v in ((GreaterThanOrEqual, since), (LessThan, until))
        if v is not None
    ]
    return bounds & Q(*exact)


def event_search(query: str) -> Q:
    """Events of a person or organisation: the query is a prefix (case as typed) of the copied
    display name, the username or organisation code, the DingTalk id or the mobile.

    Two plans, chosen by a capped count on the indexes: a narrow prefix reads its few matches
    through each column's index and sorts them; a broad one ("Zhang", "138") would sort tens of
    thousands of rows, so it is written so no index applies and the database walks events
    newest first, stopping once a page is full (matches are dense, so that is soon).
    """
    narrow = _any_column(lambda column: _prefix(column, query))
    if not _at_least(SyncEvent.objects.filter(narrow), BROAD_MATCHES):
        return narrow
    return _any_column(lambda column: Exact(Left(column, len(query)), query))


def _any_column(term: Callable[[str], Q | Exact]) -> Q:
    terms = Q()
    for column in SEARCH_COLUMNS:
        terms |= Q(term(column))
    return terms


def _prefix(column: str, query: str) -> Q:
    """``column`` starts with ``query``, as a predicate its b-tree index serves."""
    if connection.vendor == "sqlite":  # SQLite's LIKE ignores case, so its index cannot serve it
        return Q(**{f"{column}__gte": query, f"{column}__lt": query + HIGH})
    return Q(**{f"{column}__startswith": query})


def _at_least(rows: QuerySet, limit: int) -> bool:
    return _count_upto(rows, limit) >= limit


def _count_upto(rows: QuerySet, limit: int) -> int:
    """COUNT(*) of at most ``limit`` rows: an index-only read of ``limit`` entries at most."""
    return rows.order_by().values("id")[:limit].count()


# --- one object's history ------------------------------------------------------------------------


def object_events(object_type: str, source_id: int) -> QuerySet[SyncEvent]:
    """Every event of one account or organisation across jobs (the object index)."""
    events = SyncEvent.objects.filter(object_type=object_type, source_id=source_id)
    return events.select_related("provider").only(*_event_columns(with_provider=True))


def object_source(object_type: str, source_id: int) -> Account | Organization | None:
    """The directory object behind a timeline, when it still exists."""
    model = Account if object_type == SyncEvent.ObjectType.USER else Organization
    return model.objects.filter(pk=source_id).first()


def object_providers(object_type: str, source_id: int) -> list[IdentityProvider]:
    """Providers that linked the object or recorded an event of it (re-push candidates)."""
    if object_type == SyncEvent.ObjectType.USER:
        linked = UserLink.objects.filter(account_ref=source_id)
    else:
        linked = DepartmentLink.objects.filter(org_ref=source_id)
    seen = SyncEvent.objects.filter(object_type=object_type, source_id=source_id)
    ids = set(linked.values_list("provider_id", flat=True))
    ids |= set(seen.order_by().values_list("provider_id", flat=True).distinct())
    return list(IdentityProvider.objects.filter(pk__in=ids).only("name").order_by("name"))


def object_label(source: Account | Organization | None, events: Iterable[SyncEvent]) -> str:
    """The name the timeline shows: the live object's, else the name copied into an event."""
    if isinstance(source, Account):
        return str(source)
    if isinstance(source, Organization):
        return source.name
    return next((e.source_name for e in events if e.source_name), "")


# --- DingTalk's side -----------------------------------------------------------------------------


@dataclass
class DeptNode:
    """A DingTalk department with its members and sub-departments, as read live."""

    dept: Department
    members: list[User] = field(default_factory=list)
    children: list["DeptNode"] = field(default_factory=list)


def dingtalk_tree(state: RemoteState, targets: Iterable[int]) -> list[DeptNode]:
    """The department tree under each target, members sorted by name, children by order."""
    members: dict[int, list[User]] = {}
    for user in sorted(state.users.values(), key=lambda u: (u.name or "", u.userid)):
        for dept_id in user.dept_id_list:
            members.setdefault(dept_id, []).append(user)

    def node(dept_id: int, seen: frozenset[int]) -> DeptNode:
        kids = [k for k in state.children.get(dept_id, []) if k in state.depts and k not in seen]
        kids.sort(key=lambda k: (state.depts[k].order or 0, k))
        inner = seen | {dept_id}
        return DeptNode(
            state.depts[dept_id], members.get(dept_id, []), [node(k, inner) for k in kids]
        )

    ordered = dict.fromkeys(t for t in targets if t in state.depts)
    return [node(t, frozenset()) for t in ordered]


def provider_targets(provider: IdentityProvider) -> list[int]:
    """The DingTalk departments the provider's scopes write under, in scope order (the root
    when there is no scope yet, as ``services.dingtalk_snapshot`` reads)."""
    return list(dict.fromkeys(provider.scopes.values_list("target_dept_id", flat=True))) or [1]


# --- what fails now ------------------------------------------------------------------------------

# Statuses of an attempt: a later success mends a failure, a later failure replaces it; planned
# (dry runs), skipped and rejected events attempted nothing.
ATTEMPTED = (SyncEvent.Status.SUCCESS, SyncEvent.Status.FAILED)
FAILING_LIMIT = 1000  # the dashboard counts failing objects up to this many ("1000+")
ACTIVE = (SyncJob.Status.QUEUED, SyncJob.Status.RUNNING)


def last_completed_full_sync(provider: IdentityProvider) -> SyncJob | None:
    """The provider's latest real (not dry) full run that went through the whole scope."""
    return SyncJob.completed_full(provider).order_by("-id").first()


def failure_window_start(provider: IdentityProvider) -> int | None:
    """The first event id that can tell what fails now; None when every event can.

    A completed full run attempts every object that differs from DingTalk, so an object
    still failing has a failed attempt from that run's first event on: older events need not
    be read, which keeps the question cheap however long the history is.
    """
    full = last_completed_full_sync(provider)
    if full is None:
        return None
    events = SyncEvent.objects.order_by("id").values_list("id", flat=True)
    first = events.filter(job=full).first()
    if first is None:  # the run changed nothing: nothing failed then, look at what came after
        moment = full.finished_at or full.created_at
        after = SyncEvent.objects.filter(created_at__gte=moment).order_by("created_at", "id")
        first = after.values_list("id", flat=True).first()
    if first is None:
        first = (events.reverse().first() or 0) + 1
    return first


def failing_now(providers: Iterable[IdentityProvider]) -> Q:
    """Events that are the latest attempt at their object for their provider, and failed.

    One event per object failing now: a later success mends it, a later failure replaces it.
    Served by the (provider, status, id) index for the failures and the (provider, object
    type, source id, id) index for the later attempt.
    """
    later = SyncEvent.objects.filter(
        provider_id=OuterRef("provider_id"),
        object_type=OuterRef("object_type"),
        source_id=OuterRef("source_id"),
        id__gt=OuterRef("id"),
        status__in=ATTEMPTED,
    )
    windows = Q(pk__in=[])
    for provider in providers:
        start = failure_window_start(provider)
        windows |= Q(provider=provider, id__gte=start) if start else Q(provider=provider)
    return Q(status=SyncEvent.Status.FAILED) & windows & ~Exists(later)


@dataclass
class Failing:
    """Objects failing now for one provider: latest attempts that failed, open conflicts."""

    objects: int  # distinct accounts and organisations, conflicts included
    conflicts: int
    capped: bool  # more than ``objects`` fail (the count stopped at FAILING_LIMIT)


def failing_objects(provider: IdentityProvider, limit: int = FAILING_LIMIT) -> Failing:
    """How many objects fail now for ``provider`` (counted up to ``limit``)."""
    failing = SyncEvent.objects.filter(failing_now([provider]))
    count = _count_upto(failing, limit)
    refs = set(UserConflict.objects.filter(provider=provider).values_list("account_ref", flat=True))
    overlap = failing.filter(object_type=SyncEvent.ObjectType.USER, source_id__in=refs)
    total = count + len(refs) - (_count_upto(overlap, limit) if refs else 0)
    return Failing(objects=total, conflicts=len(refs), capped=count >= limit)


# --- the dashboard: each provider's health, the workers ---------------------------------------


@dataclass
class ProviderHealth:
    """What the dashboard says about one provider; each figure links to the list behind it."""

    provider: IdentityProvider
    last_success: SyncJob | None  # the latest real full sync that succeeded
    last_job: SyncJob | None
    failing: Failing
    pending: int  # directory changes waiting for an incremental run
    awaiting: int  # jobs stopped for an approval of their deletions
    active: bool  # a job is queued or running (the dashboard polls)


def provider_health(provider: IdentityProvider) -> ProviderHealth:
    """One provider's health: a handful of indexed reads, whatever the size of the history."""
    jobs = SyncJob.objects.filter(provider=provider).order_by("-id")
    counts = jobs.filter(status__in=(*ACTIVE, SyncJob.Status.AWAITING_APPROVAL)).aggregate(
        active=Count("id", filter=~Q(status=SyncJob.Status.AWAITING_APPROVAL)),
        awaiting=Count("id", filter=Q(status=SyncJob.Status.AWAITING_APPROVAL)),
    )
    success = jobs.filter(kind=SyncJob.Kind.FULL, dry_run=False, status=SyncJob.Status.SUCCEEDED)
    return ProviderHealth(
        provider=provider,
        last_success=success.first(),
        last_job=jobs.first(),
        failing=failing_objects(provider),
        pending=PendingChange.objects.filter(provider=provider).count(),
        awaiting=counts["awaiting"],
        active=bool(counts["active"]),
    )


def providers_health() -> list[ProviderHealth]:
    """Every provider's health, by name."""
    return [provider_health(p) for p in IdentityProvider.objects.order_by("name", "id")]


@dataclass
class WorkerStatus:
    """A machine's background worker and when it was last seen."""

    host: str
    pid: int
    seen_at: datetime
    alive: bool


def worker_statuses(now: datetime | None = None) -> list[WorkerStatus]:
    """Every worker machine on record, most recently seen first."""
    rows = WorkerHeartbeat.objects.order_by("-seen_at")
    return [
        WorkerStatus(r.host, r.pid, r.seen_at, heartbeat.is_alive(r.seen_at, now)) for r in rows
    ]


# --- pending changes -----------------------------------------------------------------------------


@dataclass
class PendingRow:
    """A directory object waiting for the provider's next incremental run, with its name."""

    change: PendingChange
    object: Account | Organization | None  # None once deleted from the directory

    @property
    def is_account(self) -> bool:
        return self.change.object_type == "account"

    @property
    def timeline_type(self) -> str:
        """The object type as sync events name it (the timeline's URL)."""
        return SyncEvent.ObjectType.USER if self.is_account else SyncEvent.ObjectType.DEPARTMENT


def pending_changes(provider: IdentityProvider) -> QuerySet[PendingChange]:
    """The provider's pending changes, most recently changed first."""
    return PendingChange.objects.filter(provider=provider).order_by("-changed_at", "-id")


def with_objects(changes: Iterable[PendingChange]) -> list[PendingRow]:
    """Pair each pending change with its account or organisation (two queries at most)."""
    changes = list(changes)
    wanted: dict[str, set[int]] = {"account": set(), "organization": set()}
    for change in changes:
        wanted.setdefault(change.object_type, set()).add(change.object_id)
    accounts = Account.objects.only("username", "display_name").in_bulk(wanted["account"])
    orgs = Organization.objects.only("name").in_bulk(wanted["organization"])
    found = {"account": accounts, "organization": orgs}
    return [PendingRow(c, found.get(c.object_type, {}).get(c.object_id)) for c in changes]


# --- an account's or organisation's side in DingTalk ----------------------------------------------


@dataclass
class DingTalkSide:
    """One provider's side of an account or organisation: linked, waiting, or out of scope."""

    provider: IdentityProvider
    in_scope: bool  # the provider's scope holds the object (an account also must be active)
    dingtalk_id: str = ""  # the linked userid or dept_id
    origin: str = ""  # a linked user: "created" by the console or "adopted"
    target: int | None = None  # an organisation that stands for this target department
    last_event: SyncEvent | None = None
    conflicts: list[UserConflict] = field(default_factory=list)

    @property
    def state(self) -> str:
        """ "target", "linked", "leaving" (linked but out of scope), "waiting" or "outside"."""
        if self.target is not None:
            return "target"
        if self.dingtalk_id:
            return "linked" if self.in_scope else "leaving"
        return "waiting" if self.in_scope else "outside"


def _scopes_by_provider() -> dict[int, list[NodeScope]]:
    scopes: dict[int, list[NodeScope]] = {}
    for scope in NodeScope.objects.select_related("organization"):
        scopes.setdefault(scope.provider_id, []).append(scope)
    return scopes


def _within(path: str, scopes: Iterable) -> bool:
    return any(path.startswith(scope.organization.path) for scope in scopes)


def _last_event(provider: IdentityProvider, object_type: str, source_id: int) -> SyncEvent | None:
    """The object's latest event for the provider (the (provider, object, id) index)."""
    events = SyncEvent.objects.filter(
        provider=provider, object_type=object_type, source_id=source_id
    ).only(*_event_columns(with_provider=False))
    return events.order_by("-id").first()


def account_dingtalk(account: Account) -> list[DingTalkSide]:
    """The account's side in each provider's DingTalk, with its last event and conflicts.

    In scope as the engine reads it (``source.read_directory``): an active account with a
    membership inside a scope (its primary one when "one person in multiple organisations"
    is off).
    """
    memberships = list(account.memberships.select_related("organization"))
    conflicts: dict[int, list[UserConflict]] = {}
    for conflict in UserConflict.objects.filter(account_ref=account.pk).order_by("field"):
        conflicts.setdefault(conflict.provider_id, []).append(conflict)
    scopes, sides = _scopes_by_provider(), []
    links = {link.provider_id: link for link in UserLink.objects.filter(account_ref=account.pk)}
    for provider in IdentityProvider.objects.order_by("name", "id"):
        counted = [m for m in memberships if provider.multi_org_enabled or m.is_primary]
        in_scope = account.is_active and any(
            _within(m.organization.path, scopes.get(provider.pk, [])) for m in counted
        )
        link = links.get(provider.pk)
        sides.append(
            DingTalkSide(
                provider,
                in_scope,
                dingtalk_id=link.userid if link else "",
                origin=link.origin if link else "",
                last_event=_last_event(provider, SyncEvent.ObjectType.USER, account.pk),
                conflicts=conflicts.get(provider.pk, []),
            )
        )
    return sides


def organization_dingtalk(org: Organization) -> list[DingTalkSide]:
    """The organisation's side in each provider's DingTalk, with its last event.

    The root of a scope that merges into its target stands for that department (it is not
    created); any other organisation inside a scope becomes a department of its own.
    """
    scopes, sides = _scopes_by_provider(), []
    links = {link.provider_id: link for link in DepartmentLink.objects.filter(org_ref=org.pk)}
    for provider in IdentityProvider.objects.order_by("name", "id"):
        own = scopes.get(provider.pk, [])
        merged = [s for s in own if s.organization_id == org.pk and s.placement == "merge"]
        link = links.get(provider.pk)
        sides.append(
            DingTalkSide(
                provider,
                _within(org.path, own),
                dingtalk_id=str(link.dept_id) if link else "",
                target=merged[0].target_dept_id if merged else None,
                last_event=_last_event(provider, SyncEvent.ObjectType.DEPARTMENT, org.pk),
            )
        )
    return sides


def account_conflicts(account_id: int) -> list[UserConflict]:
    """The account's open conflicts with every provider, with the provider's name."""
    conflicts = UserConflict.objects.filter(account_ref=account_id).select_related("provider")
    return list(conflicts.order_by("provider__name", "field"))
