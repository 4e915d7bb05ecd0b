"""Synchronisation runs and their history."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .texts import render


class SyncJob(models.Model):
    """One synchronisation run of a provider: a row per background run, polled by its page."""

    class Kind(models.TextChoices):
        FULL = "full", _("Full")
        INCREMENTAL = "incremental", _("Incremental")
        SINGLE = "single", _("Single object")

    class Trigger(models.TextChoices):
        WIZARD = "wizard", _("Wizard")
        MANUAL = "manual", _("Manual")
        SCHEDULE = "schedule", _("Schedule")
        CHANGE = "change", _("Directory change")
        API = "api", _("API")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partially succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        REJECTED = "rejected", _("Rejected")

    class Decision(models.TextChoices):
        NONE = "", _("None")
        APPROVE = "approve", _("Deletions approved")
        REJECT = "reject", _("Deletions rejected")

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING, Status.AWAITING_APPROVAL)
    # A full run that went through the whole scope and applied its changes (a rejection only
    # held back its deletions): incremental sync may start after one, freshness counts from it.
    COMPLETED_STATUSES = (Status.SUCCEEDED, Status.PARTIAL, Status.REJECTED)

    provider = models.ForeignKey(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="sync_jobs"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    counters = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # ``error`` and ``hint`` are msgids (English) with their arguments, translated when shown
    # (dtconsole.sync.texts); a DingTalk error's own words are inside the arguments.
    error = models.TextField(blank=True, default="")
    error_args = models.JSONField(default=dict, blank=True)
    hint = models.TextField(blank=True, default="")
    hint_args = models.JSONField(default=dict, blank=True)
    # The deletions a run stopped for (object type, source id, DingTalk id, name): an approval
    # covers exactly these; the admin's decision on them.
    planned_deletions = models.JSONField(default=list, blank=True)
    decision = models.CharField(
        max_length=8, choices=Decision.choices, default=Decision.NONE, blank=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scope = models.JSONField(default=dict, blank=True)  # single-object jobs: {"type", "id"}
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("sync job")
        verbose_name_plural = _("sync jobs")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.get_status_display()}"

    @classmethod
    def completed_full(cls, provider) -> "models.QuerySet[SyncJob]":
        """The provider's real (not dry) full runs that completed."""
        return cls.objects.filter(
            provider=provider, kind=cls.Kind.FULL, dry_run=False, status__in=cls.COMPLETED_STATUSES
        )

    @property
    def deletions_approved(self) -> bool:
        return self.decision == self.Decision.APPROVE

    @property
    def error_text(self) -> str:
        """The job's error (or outcome note) in the active language."""
        return render(self.error, self.error_args)

    @property
    def hint_text(self) -> str:
        return render(self.hint, self.hint_args)


class DepartmentLink(models.Model):
    """Provider × organisation → the DingTalk department it is synchronised to.

    ``org_name`` keeps the name so a department can be deleted in DingTalk after its
    organisation is gone from the directory.
    """

    provider = models.ForeignKey(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="department_links"
    )
    organization = models.ForeignKey(
        "directory.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    org_ref = models.BigIntegerField()  # the organisation's id, kept after deletion
    org_name = models.CharField(max_length=64)
    dept_id = models.BigIntegerField()
    depth = models.PositiveSmallIntegerField(default=0)
    last_payload = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # The natural key, and the index every link lookup and write uses.
            models.UniqueConstraint(fields=["provider", "org_ref"], name="deptlink_unique_org"),
            models.UniqueConstraint(fields=["provider", "dept_id"], name="deptlink_unique_dept"),
        ]

    def __str__(self) -> str:
        return f"{self.org_name} → {self.dept_id}"


class UserLink(models.Model):
    """Provider × account → the DingTalk user it is synchronised to, with the last payload."""

    provider = models.ForeignKey(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="user_links"
    )
    account = models.ForeignKey(
        "directory.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    account_ref = models.BigIntegerField()  # the account's id, kept after deletion
    username = models.CharField(max_length=64)
    display_name = models.CharField(max_length=80, blank=True, default="")
    userid = models.CharField(max_length=64)
    unionid = models.CharField(max_length=64, blank=True, default="")
    # Whether the console created the DingTalk user or adopted (matched) an existing one.
    origin = models.CharField(
        max_length=8,
        choices=[("created", _("Created by the console")), ("adopted", _("Adopted"))],
        default="created",
    )
    last_payload = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # The natural key, and the index every link lookup and write uses.
            models.UniqueConstraint(
                fields=["provider", "account_ref"], name="userlink_unique_account"
            ),
            models.UniqueConstraint(fields=["provider", "userid"], name="userlink_unique_userid"),
        ]
        indexes = [models.Index(fields=["provider", "unionid"], name="userlink_unionid_idx")]

    def __str__(self) -> str:
        return f"{self.username} → {self.userid}"


class SyncEvent(models.Model):
    """One attempt at one object during a job: what was (or would be) done, and how it went.

    Values sent and DingTalk's answer are kept; secrets never are. Listed newest first by id
    (keyset pagination), so every filter below has an index ending in id.
    """

    class ObjectType(models.TextChoices):
        DEPARTMENT = "department", _("Department")
        USER = "user", _("User")

    class Action(models.TextChoices):
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        MATCH = "match", _("Match")
        SKIP = "skip", _("Skip")

    class Status(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        PLANNED = "planned", _("Planned")
        REJECTED = "rejected", _("Not applied (rejected)")

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="events")
    provider = models.ForeignKey(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="+"
    )
    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    source_id = models.BigIntegerField(null=True, blank=True)
    source_name = models.CharField(max_length=80, blank=True, default="")
    source_key = models.CharField(max_length=64, blank=True, default="")  # username or org code
    mobile = models.CharField(max_length=24, blank=True, default="")
    dingtalk_id = models.CharField(max_length=64, blank=True, default="")
    action = models.CharField(max_length=16, choices=Action.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    changes = models.JSONField(default=dict, blank=True)  # field -> [old, new]
    errcode = models.CharField(max_length=32, blank=True, default="")
    sub_code = models.CharField(max_length=32, blank=True, default="")
    # ``message`` and ``hint`` are msgids (English) with their arguments, translated when
    # shown (dtconsole.sync.texts); ``detail`` is DingTalk's own answer, verbatim.
    message = models.TextField(blank=True, default="")
    message_args = models.JSONField(default=dict, blank=True)
    detail = models.TextField(blank=True, default="")
    hint = models.TextField(blank=True, default="")
    hint_args = models.JSONField(default=dict, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["provider", "-id"], name="event_provider_idx"),
            # A provider's failures (the dashboard, the list filtered by provider and status)
            # and one object's latest event per provider (what fails now, the account page).
            models.Index(fields=["provider", "status", "-id"], name="event_provider_status_idx"),
            models.Index(
                fields=["provider", "object_type", "source_id", "-id"],
                name="event_provider_object_idx",
            ),
            models.Index(fields=["job", "-id"], name="event_job_idx"),
            models.Index(fields=["object_type", "source_id", "-id"], name="event_object_idx"),
            models.Index(fields=["status", "-id"], name="event_status_idx"),
            models.Index(fields=["source_key"], name="event_source_key_idx"),
            models.Index(fields=["dingtalk_id"], name="event_dingtalk_id_idx"),
            models.Index(fields=["mobile"], name="event_mobile_idx"),
            models.Index(fields=["source_name"], name="event_source_name_idx"),
            models.Index(fields=["created_at"], name="event_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.source_name}: {self.status}"

    @property
    def text(self) -> str:
        """The console's sentence about this attempt, in the active language."""
        return render(self.message, self.message_args)

    @property
    def hint_text(self) -> str:
        """What to do next, in the active language."""
        return render(self.hint, self.hint_args)


class PendingChange(models.Model):
    """A directory object changed since the last incremental run of a provider.

    One row per (provider, object), however many edits: that is how a burst of edits to one
    account becomes one write.
    """

    provider = models.ForeignKey(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="+"
    )
    object_type = models.CharField(max_length=16)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped by every further change: a run consumes the row only if it is unchanged since
    # the run read it, so a change made while the run worked is not lost.
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "object_type", "object_id"], name="pending_unique_object"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}"


class ProviderLock(models.Model):
    """At most one running job per provider: the row exists while a job holds the provider.

    Inserting is the lock (the unique provider makes a second insert fail on every
    database); a lock whose job has stopped beating is taken over.
    """

    provider = models.OneToOneField(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="+"
    )
    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="+")
    acquired_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"provider {self.provider_id} held by job {self.job_id}"


class UserConflict(models.Model):
    """DingTalk refused an account because another DingTalk user holds one of its unique values.

    Kept until the account's value changes, DingTalk no longer shows the holder with it, or an
    admin links the account to the holder: until then the value is not sent again.
    """

    provider = models.ForeignKey(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey(
        "directory.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    account_ref = models.BigIntegerField()
    field = models.CharField(max_length=32)  # a key of CONFLICT_FIELDS
    value = models.CharField(max_length=128)
    holder_userid = models.CharField(max_length=64, blank=True, default="")
    holder_name = models.CharField(max_length=80, blank=True, default="")
    errcode = models.CharField(max_length=32, blank=True, default="")
    detected_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "account_ref", "field"], name="conflict_unique_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.field} {self.value} held by {self.holder_userid or '?'}"

    @property
    def field_label(self) -> str:
        """The conflicting field's name in the reader's language."""
        return str(CONFLICT_FIELDS.get(self.field, self.field))


# The unique values DingTalk refuses when another user holds them (the connector's
# AlreadyExists.what), with their names. DingTalk has no such refusal for a job number.
CONFLICT_FIELDS = {
    "mobile": _("mobile"),
    "email": _("email"),
    "userid": _("userid"),
    "telephone": _("telephone"),
}


class WorkerHeartbeat(models.Model):
    """When a background worker (a django-q2 cluster) was last seen on a machine.

    Written every minute by the watchdog schedule and whenever a worker takes a job; the
    dashboard, the page banner and /healthz read it.
    """

    host = models.CharField(max_length=128, primary_key=True)
    pid = models.PositiveIntegerField(default=0)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.host} seen {self.seen_at:%Y-%m-%d %H:%M:%S}"
