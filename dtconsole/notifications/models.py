"""Who hears about a provider's trouble, and the record of every notification."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dtconsole.sync.texts import render

MAX_FRESHNESS_HOURS = 720
MAX_INTERVAL_MINUTES = 1440


class NotificationSettings(models.Model):
    """One provider's notification settings: on/off, recipients, freshness window, interval.

    Created by the first save (``notification_settings_update``). ``version`` counts saved
    changes: a change made from an older version is refused, like a provider's
    ``config_version`` (kept apart so that editing recipients does not invalidate the
    provider's ETag for API scripts).
    """

    provider = models.OneToOneField(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="notification_settings"
    )
    enabled = models.BooleanField(_("send notifications"), default=False)
    dingtalk_userids = models.JSONField(_("DingTalk recipients"), default=list, blank=True)
    emails = models.JSONField(_("email recipients"), default=list, blank=True)
    freshness_hours = models.PositiveIntegerField(
        _("freshness window (hours)"),
        default=0,
        validators=[MaxValueValidator(MAX_FRESHNESS_HOURS)],
        help_text=_(
            "Notify when the provider has had no successful full sync for this many hours "
            "(0: never). Checked every minute by the worker."
        ),
    )
    min_interval_minutes = models.PositiveIntegerField(
        _("minimum interval (minutes)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL_MINUTES)],
        help_text=_(
            "At most one notification per kind of event within this many minutes; later "
            "ones are recorded as suppressed. Work notifications count against DingTalk's "
            "monthly call quota."
        ),
    )
    language = models.CharField(
        _("message language"),
        max_length=16,
        blank=True,
        default="",
        help_text=_("The language of the messages; empty: the console's default language."),
    )
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return f"{self.provider} notifications"


class Notification(models.Model):
    """One event told on one channel: sent, suppressed by the interval, or refused.

    Written only by ``dtconsole.notifications.services``. ``title`` and ``detail`` are msgids
    with their arguments (``dtconsole.sync.texts``), shown in the reader's language.
    """

    class Kind(models.TextChoices):
        JOB_FAILED = "job_failed", _("Job failed")
        JOB_AWAITING_APPROVAL = "job_awaiting_approval", _("Job awaiting approval")
        PROVIDER_STALE = "provider_stale", _("No recent full sync")

    class Channel(models.TextChoices):
        DINGTALK = "dingtalk", _("DingTalk work notification")
        EMAIL = "email", _("Email")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Sending")
        SENT = "sent", _("Sent")
        SUPPRESSED = "suppressed", _("Suppressed")
        QUOTA_EXHAUSTED = "quota_exhausted", _("Quota exhausted")
        FAILED = "failed", _("Failed")

    provider = models.ForeignKey(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    job = models.ForeignKey(
        "sync.SyncJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipients = models.JSONField(default=list, blank=True)
    title = models.TextField(blank=True, default="")
    title_args = models.JSONField(default=dict, blank=True)
    detail = models.TextField(blank=True, default="")
    detail_args = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    task_id = models.BigIntegerField(null=True, blank=True)
    errcode = models.CharField(max_length=64, blank=True, default="")
    # DingTalk's getsendresult, fetched on request (it is one more call against the quota).
    send_result = models.JSONField(default=dict, blank=True)
    result_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["provider", "kind", "created_at"], name="notification_kind_idx"),
            models.Index(fields=["provider", "created_at"], name="notification_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_channel_display()} {self.outcome}"

    @property
    def title_text(self) -> str:
        """What the notification said, in the active language."""
        return render(self.title, self.title_args)

    @property
    def detail_text(self) -> str:
        """What became of it (an error, the quota, the interval), in the active language."""
        return render(self.detail, self.detail_args)
