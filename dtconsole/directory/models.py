"""The directory: the source of truth that dtconsole pushes into DingTalk.

Organisations form a tree stored with a materialised path ("/1/5/12/"), so a subtree, an
ancestor check or a member count of a whole branch is one indexed prefix query. Accounts may
belong to several organisations through Membership, with exactly one primary membership per
account that has any. All writes go through ``dtconsole.directory.services``.
"""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .validators import (
    normalize_mobile,
    validate_json_bounds,
    validate_org_code,
    validate_org_name,
    validate_username,
)


class MobileField(models.CharField):
    """A mobile number kept in its one normal form (``validators.normalize_mobile``).

    ``full_clean``, which every service runs before it writes, replaces the value with its
    normal form (or refuses it) before the unique constraint is checked, so "+86-139…" and
    "139…" are one number. Saving and lookups use the value as it is: a raw ORM write is not
    normalised (and is not how the directory is written).
    """

    def clean(self, value, model_instance):
        value = self.to_python(value)
        return super().clean(normalize_mobile(value) if value else value, model_instance)


class Organization(models.Model):
    """A node of the organisation tree (a DingTalk department once synchronised)."""

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent organisation"),
    )
    name = models.CharField(_("name"), max_length=64, validators=[validate_org_name])
    code = models.CharField(
        _("code"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_org_code],
        help_text=_("Optional stable identifier, used by the CSV import to find parents."),
    )
    order = models.IntegerField(_("order"), default=0, help_text=_("Smaller sorts first."))
    # Materialised path of ids, "/<root id>/…/<own id>/". Maintained by the services only.
    path = models.CharField(max_length=1024, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "name", "id"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="org_unique_name_under_parent"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="org_unique_root_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to the parent (excluding self)."""
        return [int(part) for part in self.path.strip("/").split("/")[:-1] if part]

    def is_descendant_of(self, other: "Organization") -> bool:
        return self.path.startswith(other.path) and self.pk != other.pk


class Account(models.Model):
    """A person of the directory (a DingTalk user once synchronised)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DISABLED = "disabled", _("Disabled")

    username = models.CharField(
        _("username"),
        max_length=64,
        unique=True,
        validators=[validate_username],
        help_text=_("The default DingTalk userid: 1 to 64 characters, unique, never changed."),
    )
    display_name = models.CharField(_("display name"), max_length=80, db_index=True)
    mobile = MobileField(
        _("mobile"),
        max_length=24,
        blank=True,
        default="",
        help_text=_(
            "Mainland: 11 digits, 13800138000 (+86, spaces and hyphens are removed). Other "
            "regions: + country code and number, +852-61234567."
        ),
    )
    email = models.EmailField(_("email"), max_length=254, blank=True, default="")
    job_number = models.CharField(
        _("job number"), max_length=50, blank=True, default="", validators=[MaxLengthValidator(50)]
    )
    title = models.CharField(_("title"), max_length=200, blank=True, default="")
    work_place = models.CharField(_("work place"), max_length=100, blank=True, default="")
    hired_date = models.DateField(_("hired date"), null=True, blank=True)
    extra = models.JSONField(
        _("extra attributes"),
        default=dict,
        blank=True,
        help_text=_("Free-form attributes (JSON object) that field mappings can read."),
        validators=[validate_json_bounds],
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    organizations = models.ManyToManyField(
        Organization, through="Membership", related_name="accounts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["username"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["mobile"], condition=~Q(mobile=""), name="account_unique_mobile"
            ),
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="account_unique_email"
            ),
        ]
        indexes = [
            models.Index(fields=["mobile"], name="account_mobile_idx"),
            models.Index(fields=["email"], name="account_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.username})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Membership(models.Model):
    """Account × organisation. Each account with memberships has exactly one primary."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    is_primary = models.BooleanField(_("primary"), default=False)
    order = models.IntegerField(_("order in organisation"), default=0)

    class Meta:
        ordering = ["-is_primary", "order", "id"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "organization"], name="membership_unique_pair"
            ),
            # At most one primary per account; the services keep "at least one" true.
            models.UniqueConstraint(
                fields=["account"], condition=Q(is_primary=True), name="membership_one_primary"
            ),
        ]
        indexes = [
            # Covering index of "the accounts of these organisations" (the subtree filter of
            # the account list): answered from the index alone.
            models.Index(fields=["organization", "account"], name="membership_org_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} in {self.organization_id}"


class ImportBatch(models.Model):
    """One uploaded CSV file of the directory import, from preview to commit.

    The decoded text is kept so the commit checks exactly the rows the preview showed; the
    check made at upload is stored (``checked``, ``checked_rows``, ``consequences``) so the
    preview pages read it instead of checking every row again. The commit runs as a
    background job (queued → running → committed or failed) whose progress is ``done`` of
    ``total``; the summary holds its counts, or the sentence that says why it failed.
    """

    class Kind(models.TextChoices):
        ORGANIZATIONS = "organizations", _("Organisations")
        ACCOUNTS = "accounts", _("Accounts")

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        COMMITTED = "committed", _("Committed")
        FAILED = "failed", _("Failed")

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("imported by"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    filename = models.CharField(_("file name"), max_length=255, blank=True, default="")
    content = models.TextField(_("CSV text"))
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PREVIEWED
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    committed_at = models.DateTimeField(_("committed at"), null=True, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    checked = models.JSONField(_("check at upload"), default=dict, blank=True)
    consequences = models.JSONField(_("consequences in DingTalk"), default=list, blank=True)
    done = models.PositiveIntegerField(_("rows written"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def total(self) -> int:
        """Rows the import writes: every row of the file."""
        return self.row_count

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class ImportCheckedRow(models.Model):
    """One row of a batch as the check at upload found it: its action and its errors.

    ``position`` orders the preview: rows with errors first, then the file's order.
    """

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="checked_rows")
    position = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    action = models.CharField(max_length=16, blank=True, default="")
    is_bad = models.BooleanField(default=False)
    cells = models.JSONField(default=list)
    changes = models.JSONField(default=dict)  # column -> [before, after] of an update
    # language code -> the row's messages ("row 5, mobile: …") in that language
    errors = models.JSONField(default=dict)

    class Meta:
        ordering = ["position"]
        indexes = [models.Index(fields=["batch", "is_bad", "position"], name="import_row_page_idx")]

    ACTION_LABELS = {"create": _("create"), "update": _("update"), "unchanged": _("unchanged")}

    def __str__(self) -> str:
        return f"{self.batch_id} row {self.number}"

    @property
    def action_label(self) -> str:
        return str(self.ACTION_LABELS.get(self.action, ""))

    def shown_cells(self, columns: list[str]) -> list[tuple[str, list[str] | None]]:
        """(cell, [before, after] or None) per column, in the file's order."""
        changes = self.changes or {}
        pairs = zip(columns, self.cells, strict=False)
        return [(cell, changes.get(column)) for column, cell in pairs]

    @property
    def messages(self) -> list[str]:
        """The row's messages in the active language (else the default one)."""
        if not self.errors:
            return []
        by_language = self.errors
        return (
            by_language.get(translation.get_language() or "")
            or by_language.get(settings.LANGUAGE_CODE)
            or next(iter(by_language.values()))
        )


class ImportUndo(models.Model):
    """What one write of a running import changed, with the values before: replayed in
    reverse when the import fails, so the directory ends as it was."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="undo_entries")
    entry = models.JSONField()

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.entry.get('op')}"
