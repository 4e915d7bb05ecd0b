"""Apply a plan to DingTalk, one object at a time, recording an event for each.

Order: departments parents first, then users, then user deletions, then departments
bottom-up. A link is written as soon as DingTalk confirms an object (group-committed with
its event, see ``Recorder``), so a run that dies half-way is resumed by the next run without
duplicates. One object's failure never stops the others; a configuration error
(credentials, permission, IP) stops the run.
"""

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from connectors.dingtalk.client import DingTalkClient
from connectors.dingtalk.errors import (
    AlreadyExists,
    AuthError,
    BadRequest,
    DingTalkError,
    IpNotAllowed,
    NotFound,
    OutOfScope,
    PermissionDenied,
)

from .models import CONFLICT_FIELDS, DepartmentLink, SyncEvent, SyncJob, UserConflict, UserLink
from .plan import A, Op, Plan, _diff, conflict_text
from .remote import RemoteState
from .texts import N_, Text, stored

CONFIGURATION_ERRORS = (AuthError, PermissionDenied, IpNotAllowed, OutOfScope)


class StopRun(Exception):
    """A configuration error: every further call would fail the same way."""

    def __init__(self, error: DingTalkError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class LinkWrite:
    """A link change staged by one object's operation, committed with its event."""

    model: type[models.Model]
    key: dict[str, Any]  # a save: the natural key (one field); a delete: the filter
    values: dict[str, Any] | None = None  # None: delete the rows matching ``key``


def save_links(provider_id: int, writes: list[LinkWrite]) -> None:
    """Apply staged link writes in a constant number of statements, whatever their number.

    Deletes go first: a delete only ever removes a link that no save in the same batch
    writes (a link to an object DingTalk no longer has, or of an object being deleted).
    Saves are upserts on the natural key. A link whose account or organisation was deleted
    while DingTalk was answering is kept without it, as ``SET_NULL`` would have left it, so
    the next run finds it orphaned and deletes the DingTalk object.
    """
    groups: dict[tuple, dict[Any, LinkWrite]] = {}
    for write in writes:
        if write.values is None:
            write.model.objects.filter(provider_id=provider_id, **write.key).delete()
            continue
        ((key_field, key_value),) = write.key.items()
        group = groups.setdefault((write.model, key_field, tuple(write.values)), {})
        group[key_value] = write  # the last write of a key wins, as one after another would
    for (model, key_field, fields), by_key in groups.items():
        rows = [model(provider_id=provider_id, **w.key, **w.values) for w in by_key.values()]
        _detach_deleted(model, rows)
        model.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["provider", key_field],
            update_fields=[*fields, "synced_at"],
        )


def _detach_deleted(model: type[models.Model], rows: list[models.Model]) -> None:
    """Clear the nullable references (account, organisation) whose target is gone."""
    for field in model._meta.concrete_fields:
        if not (field.is_relation and field.null):
            continue
        wanted = {getattr(row, field.attname) for row in rows} - {None}
        live = set(
            field.related_model._default_manager.filter(pk__in=wanted).values_list("pk", flat=True)
        )
        for row in rows:
            if getattr(row, field.attname) not in live:
                setattr(row, field.attname, None)


class Recorder:
    """Writes events as they happen and keeps the job's counters, progress and heartbeat.

    Events are group-committed: an object's event (and, for a success, its link writes) is
    queued, and whichever thread finds no commit under way commits everything queued, in
    one transaction of a few statements (``save_links``, then one insert of the events).
    With one thread that is a commit per object; with several, the objects finished while a
    commit ran go in the next one, so threads never queue for the database's write lock.
    A worker killed outright loses only what was queued since the last commit (a commit
    takes milliseconds): objects DingTalk already holds, which the next run finds and links,
    recording them as matched, exactly as for an object whose answer was still on the wire.
    Counters and the heartbeat are saved every couple of seconds.
    """

    def __init__(self, job: SyncJob) -> None:
        self.job = job
        self.counters: dict[str, int] = dict(job.counters or {})
        self.last_flush = time.monotonic()
        self._lock = threading.Lock()  # users are applied by several threads
        self._queue: list[tuple[SyncEvent, list[LinkWrite]]] = []
        self._committing = False

    def event(
        self,
        op: Op,
        status: str,
        *,
        started: float,
        error: DingTalkError | None = None,
        message: Text | str = "",
        action: str | None = None,
        writes: list[LinkWrite] | None = None,
    ) -> None:
        """Record one object's outcome; ``writes`` (link changes) commit with its event."""
        event = self.build(op, status, started, error, message, action)
        with self._lock:
            self._queue.append((event, writes or []))
            if status != SyncEvent.Status.PLANNED:
                self.job.progress_done += 1
            due = time.monotonic() - self.last_flush > 2
            if due:
                self.last_flush = time.monotonic()
        self.commit()
        if due:
            self.save_progress()

    def commit(self) -> None:
        """Commit what is queued, and what is queued meanwhile, until the queue is empty.

        Returns at once when another thread is committing: that one will take this queue
        too, so nothing waits for a later event to be written.
        """
        while True:
            with self._lock:
                if self._committing or not self._queue:
                    return
                self._committing, batch, self._queue = True, self._queue, []
            try:
                self._write(batch)
            finally:
                with self._lock:
                    self._committing = False
            with self._lock:
                for event, _writes in batch:
                    key = (
                        f"{event.object_type}_{event.action}"
                        if event.status == SyncEvent.Status.SUCCESS
                        else event.status
                    )
                    self.counters[key] = self.counters.get(key, 0) + 1

    def _write(self, batch: list[tuple[SyncEvent, list[LinkWrite]]]) -> None:
        provider_id = self.job.provider_id
        try:
            with transaction.atomic():
                save_links(provider_id, [w for _event, writes in batch for w in writes])
                SyncEvent.objects.bulk_create([event for event, _writes in batch])
            return
        except IntegrityError:
            pass  # one object's link broke a constraint: find it, keep the others
        for event, writes in batch:
            event.pk = None
            try:
                with transaction.atomic():
                    save_links(provider_id, writes)
                    SyncEvent.objects.bulk_create([event])
            except IntegrityError as exc:
                event.pk = None
                event.status = SyncEvent.Status.FAILED
                event.message = N_(
                    "DingTalk accepted this change but its link could not be saved (%(error)s): "
                    "another account or organisation is probably linked to the same DingTalk "
                    "object. Check that one's events, then run the sync again."
                )
                event.message_args = {"error": str(exc)}
                SyncEvent.objects.bulk_create([event])

    def build(
        self, op: Op, status: str, started: float, error, message: Text | str, action
    ) -> SyncEvent:
        """The event of one object; ``message`` (ours) is stored as a msgid with arguments,
        DingTalk's answer verbatim in ``detail``."""
        msgid, args = stored(message or op.note or "")
        return SyncEvent(
            job=self.job,
            provider_id=self.job.provider_id,
            object_type=op.object_type,
            source_id=op.source_id,
            source_name=op.source_name[:80],
            source_key=op.source_key[:64],
            mobile=op.mobile[:24],
            dingtalk_id=str(op.dingtalk_id)[:64],
            action=action or op.action,
            status=status,
            changes=op.event_changes(),
            message=msgid,
            message_args=args,
            detail=str(error) if error else "",
            errcode=str(error.errcode) if error and error.errcode is not None else "",
            sub_code=str(getattr(error, "sub_code", "") or "") if error else "",
            hint=(error.hint or "") if error else "",
            hint_args=dict(error.hint_args or {}) if error else {},
            duration_ms=int((time.monotonic() - started) * 1000),
        )

    def skipped(self, object_type: str, object_id: int, message: Text) -> None:
        """An object that was not attempted, and why."""
        kind = (
            SyncEvent.ObjectType.USER
            if object_type == "account"
            else SyncEvent.ObjectType.DEPARTMENT
        )
        op = Op(
            object_type=kind,
            action=A.SKIP,
            source_id=object_id,
            source_name=_name_of(object_type, object_id),
        )
        self.event(op, SyncEvent.Status.SKIPPED, started=time.monotonic(), message=message)

    def flush(self) -> None:
        """Commit everything queued (after any commit under way) and save the counters."""
        while True:
            self.commit()
            with self._lock:
                if not self._queue and not self._committing:
                    break
            time.sleep(0.005)  # another thread's commit is running; it takes milliseconds
        self.save_progress()

    def save_progress(self) -> None:
        self.last_flush = time.monotonic()
        self.job.counters = self.counters
        self.job.heartbeat_at = timezone.now()
        SyncJob.objects.filter(pk=self.job.pk).update(
            counters=self.counters,
            progress_done=self.job.progress_done,
            heartbeat_at=self.job.heartbeat_at,
        )


class Applier:
    """Carries out a plan against DingTalk, recording one event per object."""

    def __init__(
        self,
        job: SyncJob,
        client: DingTalkClient,
        plan: Plan,
        *,
        delete: bool,
        match_keys: list[str],
        recorder: Recorder,
        remote: RemoteState | None = None,
    ) -> None:
        self.job, self.client, self.plan, self.delete = job, client, plan, delete
        self.match_keys = match_keys
        self.provider = job.provider
        self.record = recorder
        self.remote = remote  # a full sync's read of DingTalk (finds a conflict's holder)
        self._local = threading.local()  # the link writes staged by the current object
        self._outside: dict[int, bool] = {}  # dept id -> outside every target (cache)
        self._outside_lock = threading.Lock()

    def run(self) -> None:
        try:
            for op in sorted(self.plan.departments, key=lambda o: o.depth):
                self._guard(op, self._department)
            self._in_parallel(self.plan.users, self._user)
            for op in self.plan.user_deletions:
                self._guard(op, self._delete_user)
            for op in self.plan.dept_deletions:
                self._guard(op, self._delete_department)
        finally:
            self.record.flush()  # a stopped run keeps every event it recorded

    def _in_parallel(self, ops: list[Op], fn: Callable[[Op], str | None]) -> None:
        """Apply independent operations on a few threads: DingTalk's answer time overlaps.

        The client is thread-safe (token cache and pacer are shared); each thread has its
        own database connection, closed when its work ends. Threads take the next object
        from one shared queue, so none sits idle while another has a backlog. A
        configuration error stops the others before they take another object.
        """
        workers = max(1, settings.SYNC_THREADS)
        if workers == 1 or len(ops) < 2 * workers:
            for op in ops:
                self._guard(op, fn)
            return
        stop = threading.Event()
        queue = iter(ops)
        take = threading.Lock()

        def work() -> None:
            try:
                while not stop.is_set():
                    with take:
                        op = next(queue, None)
                    if op is None:
                        return
                    try:
                        self._guard(op, fn)
                    except StopRun:
                        stop.set()
                        raise
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync") as pool:
            futures = [pool.submit(work) for _ in range(workers)]
        for future in futures:
            future.result()  # re-raises a StopRun

    def _guard(self, op: Op, fn: Callable[[Op], str | None]) -> None:
        """Run one object's operation; record success or the failure, continue."""
        started = time.monotonic()
        if op.error:
            self.record.event(op, SyncEvent.Status.FAILED, started=started, message=op.error)
            return
        self._local.staged = []  # the LinkWrites of this object
        try:
            action = fn(op)
            # The links staged by ``fn`` commit with the success event, after the DingTalk
            # call: no transaction is held open while DingTalk answers.
            self.record.event(
                op,
                SyncEvent.Status.SUCCESS,
                started=started,
                action=action,
                writes=self._local.staged,
            )
        except CONFIGURATION_ERRORS as exc:
            self.record.event(op, SyncEvent.Status.FAILED, started=started, error=exc)
            raise StopRun(exc) from exc
        except DingTalkError as exc:
            self.record.event(op, SyncEvent.Status.FAILED, started=started, error=exc)
        except _Refused as exc:
            self.record.event(
                op, SyncEvent.Status.FAILED, started=started, message=exc.text, error=exc.error
            )

    # --- departments --------------------------------------------------------------------

    def _parent_dept(self, op: Op) -> int:
        if op.parent_dept is not None:
            return op.parent_dept
        parent = self.plan.org_dept.get(op.parent_org)
        if parent is None:
            raise _Refused(Text(N_("The parent department could not be created; see its event.")))
        return parent

    def _department(self, op: Op) -> str:
        parent = self._parent_dept(op)
        fields = dict(op.fields, parent_id=parent)
        if op.action == A.CREATE:
            return self._create_department(op, fields)
        dept_id = int(op.dingtalk_id)
        try:
            if op.changes:
                self.client.department_update(dept_id, **fields)
        except NotFound:
            self._stage_delete(DepartmentLink, dept_id=dept_id)
            return self._create_department(op, fields)
        self._link_department(op, dept_id, fields)
        return op.action

    def _create_department(self, op: Op, fields: dict[str, Any]) -> str:
        try:
            dept_id = self.client.department_create(
                fields["name"], fields["parent_id"], order=fields.get("order")
            )
            action = A.CREATE
        except AlreadyExists:
            # Created by someone else meanwhile (or by a run that died): adopt it.
            found = next(
                (
                    d
                    for d in self.client.department_listsub(fields["parent_id"])
                    if d.name == fields["name"]
                ),
                None,
            )
            if found is None:
                raise
            dept_id, action = found.dept_id, A.MATCH
        op.dingtalk_id = str(dept_id)
        self._link_department(op, dept_id, fields)
        return action

    def _link_department(self, op: Op, dept_id: int, fields: dict[str, Any]) -> None:
        self.plan.org_dept[op.source_id] = dept_id
        values = {
            "organization_id": op.source_id,
            "org_name": op.source_name[:64],
            "dept_id": dept_id,
            "depth": op.depth,
            "last_payload": fields,
        }
        self._stage_save(DepartmentLink, {"org_ref": op.source_id}, values)

    # --- users --------------------------------------------------------------------------

    def _dept_ids(self, op: Op, keep: list[int]) -> list[int]:
        ids = [self.plan.org_dept.get(o) for o in op.dept_orgs]
        if None in ids:
            raise _Refused(
                Text(N_("A department of this person could not be created; see its event."))
            )
        return list(dict.fromkeys(ids + keep))

    def _user(self, op: Op) -> str:
        if op.action == A.CREATE:
            return self._create_user(op, self._dept_ids(op, []))
        keep = op.keep_depts
        fields = dict(op.fields)
        try:
            if "dept_id_list" in op.changes:
                if self.plan.remote_depts is None:  # the list is sent whole: read what to keep
                    keep = self._outside_targets(self.client.user_get(op.dingtalk_id).dept_id_list)
                fields["dept_id_list"] = self._dept_ids(op, keep)
            if fields:
                self.client.user_update(op.dingtalk_id, fields)
        except NotFound:
            self._stage_delete(UserLink, userid=op.dingtalk_id)
            return self._create_user(op, self._dept_ids(op, []))
        except AlreadyExists as exc:
            self._conflict(op, exc)
        origin = "adopted" if op.action == A.MATCH else None
        self._link_user(op, op.dingtalk_id, None, self._dept_ids(op, keep), origin=origin)
        return op.action

    def _create_user(self, op: Op, dept_ids: list[int]) -> str:
        fields = dict(op.create_fields, dept_id_list=dept_ids)
        try:
            created = self.client.user_create(fields)
        except AlreadyExists as exc:
            return self._adopt_conflict(op, exc)
        op.dingtalk_id = created.userid
        self._link_user(op, created.userid, created.unionid, dept_ids, origin="created")
        return A.CREATE

    def _adopt_conflict(self, op: Op, exc: AlreadyExists) -> str:
        """Create said "already exists": adopt that user when the mapping identity allows it
        and nobody else is linked to them; otherwise it is a conflict for the admin."""
        key = exc.what
        value = op.create_fields.get(key, "")
        userid = exc.owner_userid or self._find_userid(key, value)
        owner = (
            UserLink.objects.filter(provider=self.provider, userid=userid)
            .exclude(account_ref=op.source_id)
            .first()
            if userid
            else None
        )
        if key not in self.match_keys or userid is None or owner is not None:
            self._conflict(op, exc, holder=userid)
        existing = self.client.user_get(userid)
        fields = {k: v for k, v in op.create_fields.items() if k != "userid"}
        changes = _diff(fields, existing.raw)
        dept_ids = self._dept_ids(op, self._outside_targets(existing.dept_id_list))
        send = {k: v[1] for k, v in changes.items()}
        if set(dept_ids) != set(existing.dept_id_list):
            changes["dept_id_list"] = [list(existing.dept_id_list), dept_ids]
            send["dept_id_list"] = dept_ids
        if send:
            self.client.user_update(userid, send)
        op.action, op.dingtalk_id, op.changes = A.MATCH, userid, changes
        op.fields = {k: v for k, v in send.items() if k != "dept_id_list"}
        self._link_user(op, userid, existing.unionid, dept_ids, origin="adopted")
        return A.MATCH

    def _conflict(self, op: Op, exc: AlreadyExists, holder: str | None = None) -> None:
        """Record that another DingTalk user holds one of the account's unique values, name
        them, and refuse the object: the value is not sent again until something changed."""
        field = exc.what
        value = str(op.fields.get(field) or op.create_fields.get(field) or "")
        if field not in CONFLICT_FIELDS or not value or op.source_id is None:
            raise _Refused(
                Text(N_("DingTalk refused this user: %(error)s"), {"error": exc.message}), exc
            )
        holder = holder or exc.owner_userid or self._find_userid(field, value)
        conflict, _created = UserConflict.objects.update_or_create(
            provider=self.provider,
            account_ref=op.source_id,
            field=field,
            defaults={
                "account_id": op.source_id,
                "value": value[:128],
                "holder_userid": (holder or "")[:64],
                "holder_name": self._name_of_user(holder)[:80],
                "errcode": str(exc.errcode or ""),
            },
        )
        raise _Refused(conflict_text(conflict), exc)

    def _name_of_user(self, userid: str | None) -> str:
        if not userid:
            return ""
        try:
            return self.client.user_get(userid).name or ""
        except DingTalkError:
            return ""

    def _find_userid(self, key: str, value: str) -> str | None:
        """The DingTalk user holding ``value`` as ``key``, when DingTalk can tell."""
        if not value:
            return None
        if key == "userid":
            return value
        if key == "mobile":
            try:
                return self.client.user_getbymobile(value)
            except (NotFound, BadRequest):
                return None
        if self.remote is not None:  # email, job number: from what the full sync read
            user = self.remote.user_by(key, value)
            return user.userid if user is not None else None
        return None  # DingTalk has no lookup by email or job number outside the lists read

    def _outside_targets(self, dept_ids: list[int]) -> list[int]:
        """The departments among ``dept_ids`` that lie outside every target: kept as they are.

        A full sync read every department under the targets; otherwise a department the
        console does not manage is looked up (its ancestry) once per run.
        """
        managed = set(self.plan.org_dept.values()) | self.plan.target_depts
        kept = []
        for dept_id in dept_ids:
            if dept_id in managed:
                continue
            if self.plan.remote_depts is not None:
                outside = dept_id not in self.plan.remote_depts
            else:
                outside = self._is_outside(dept_id)
            if outside:
                kept.append(dept_id)
        return kept

    def _is_outside(self, dept_id: int) -> bool:
        with self._outside_lock:
            if dept_id in self._outside:
                return self._outside[dept_id]
        try:
            chain = self.client.department_listparentbydept(dept_id)
            outside = not (set(chain) & self.plan.target_depts)
        except NotFound:
            outside = False  # gone from DingTalk: nothing to keep
        with self._outside_lock:
            self._outside[dept_id] = outside
        return outside

    def _link_user(
        self,
        op: Op,
        userid: str,
        unionid: str | None,
        dept_ids: list[int],
        *,
        origin: str | None = None,
    ) -> None:
        defaults = {
            "account_id": op.source_id,
            "username": op.source_key,
            "display_name": op.source_name[:80],
            "userid": userid,
            "last_payload": dict(op.create_fields, **op.fields, dept_id_list=dept_ids),
        }
        if unionid:
            defaults["unionid"] = unionid
        if origin:
            defaults["origin"] = origin
        self._stage_save(UserLink, {"account_ref": op.source_id}, defaults)
        if op.note is None:  # nothing was held back: any conflict of the account is over
            self._stage_delete(UserConflict, account_ref=op.source_id)

    # --- deletions ----------------------------------------------------------------------

    def _delete_user(self, op: Op) -> str:
        if not op.unlink_only:
            with contextlib.suppress(NotFound):  # already gone: the goal is reached
                self.client.user_delete(op.dingtalk_id)
        self._stage_delete(UserLink, account_ref=op.source_id)
        self._stage_delete(UserConflict, account_ref=op.source_id)
        return A.SKIP if op.unlink_only else A.DELETE

    def _delete_department(self, op: Op) -> str:
        if not op.unlink_only:
            with contextlib.suppress(NotFound):
                self.client.department_delete(int(op.dingtalk_id))
        self._stage_delete(DepartmentLink, org_ref=op.source_id)
        return A.SKIP if op.unlink_only else A.DELETE

    # --- link writes (committed with the event) -------------------------------------------

    def _stage_save(self, model, key: dict[str, Any], values: dict[str, Any]) -> None:
        self._local.staged.append(LinkWrite(model, key, values))

    def _stage_delete(self, model, **key: Any) -> None:
        self._local.staged.append(LinkWrite(model, key))


def _name_of(object_type: str, object_id: int) -> str:
    from dtconsole.directory.models import Account, Organization

    if object_type == "account":
        return (
            Account.objects.filter(pk=object_id).values_list("display_name", flat=True).first()
            or ""
        )
    return Organization.objects.filter(pk=object_id).values_list("name", flat=True).first() or ""


class _Refused(Exception):
    """This object cannot be synchronised as things stand; ``text`` says why (and
    ``error`` is DingTalk's refusal behind it, when there is one)."""

    def __init__(self, text: Text, error: DingTalkError | None = None) -> None:
        super().__init__(str(text.msgid))
        self.text = text
        self.error = error
