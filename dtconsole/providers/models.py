"""A bound DingTalk internal app (identity provider) and the directory scopes it receives."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import crypto

DINGTALK_CN = {
    "oapi_base": "https://oapi.dingtalk.com",
    "api_base": "https://api.dingtalk.com",
    "login_base": "https://login.dingtalk.com",
}


class IdentityProvider(models.Model):
    """A DingTalk internal app that dtconsole pushes the directory into.

    The AppSecret is stored encrypted (``crypto``); read it with ``app_secret()`` only where
    DingTalk is called. It is never rendered, logged or written to an audit entry.
    ``config_version`` counts configuration changes; the services check and bump it.
    """

    class Step(models.IntegerChoices):
        APPLICATION = 1, _("Create application")
        PERMISSIONS = 2, _("Assign permissions")
        SCENARIO = 3, _("Select scenario")
        MAPPING = 4, _("Field mapping")
        DONE = 5, _("Done")

    class DeletePolicy(models.TextChoices):
        DELETE = "delete", _("Delete in DingTalk")
        UNLINK = "unlink", _("Keep in DingTalk, stop managing")

    name = models.CharField(_("display name"), max_length=100)
    corp_id = models.CharField(_("CorpId"), max_length=64)
    app_key = models.CharField(_("AppKey"), max_length=64)
    app_secret_encrypted = models.TextField(editable=False, default="")
    agent_id = models.CharField(_("AgentId"), max_length=32)
    oapi_base = models.URLField(_("old-style API base URL"), default=DINGTALK_CN["oapi_base"])
    api_base = models.URLField(_("new-style API base URL"), default=DINGTALK_CN["api_base"])
    login_base = models.URLField(_("login base URL"), default=DINGTALK_CN["login_base"])

    step = models.PositiveSmallIntegerField(choices=Step.choices, default=Step.APPLICATION)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_ok = models.BooleanField(default=False)
    verification = models.JSONField(default=dict, blank=True)

    incremental_enabled = models.BooleanField(_("incremental synchronisation"), default=False)
    qr_logon_enabled = models.BooleanField(_("DingTalk QR code logon"), default=False)
    multi_org_enabled = models.BooleanField(
        _("support one person in multiple organisations"), default=False
    )
    match_keys = models.JSONField(_("mapping identity"), default=list, blank=True)
    delete_policy = models.CharField(
        _("deletion policy"),
        max_length=16,
        choices=DeletePolicy.choices,
        default=DeletePolicy.DELETE,
    )
    deletion_threshold_count = models.PositiveIntegerField(
        _("deletion threshold (count)"), default=50
    )
    deletion_threshold_percent = models.PositiveSmallIntegerField(
        _("deletion threshold (percent)"), default=10, validators=[MaxValueValidator(100)]
    )
    deletion_window_hours = models.PositiveSmallIntegerField(
        _("deletion threshold window (hours)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(720)],
        help_text=_(
            "Deletions are counted over this many hours across every job of the provider, so "
            "many small runs cannot pass the threshold."
        ),
    )
    protect_adopted = models.BooleanField(
        _("protect adopted users"),
        default=False,
        help_text=_(
            "A DingTalk user the console matched rather than created is unlinked instead of "
            "deleted. Leavers among them then stay in DingTalk."
        ),
    )
    full_sync_interval_hours = models.PositiveSmallIntegerField(
        _("scheduled full sync every (hours)"),
        default=0,
        help_text=_("0: no schedule. Needs a running worker."),
    )
    qps = models.PositiveSmallIntegerField(
        _("calls per second per API"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("DingTalk allows 20 per app per API; 60 with the paid add-on pack."),
    )

    # Optimistic concurrency: every configuration service (application, scenario, scopes,
    # field mappings, sync settings) bumps it in its transaction, with the row locked, and
    # refuses a change made from an older version (pages: a hidden field; API: If-Match).
    config_version = models.PositiveIntegerField(
        _("configuration version"), default=1, editable=False
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")
        constraints = [
            models.UniqueConstraint(fields=["app_key"], name="provider_unique_app_key"),
        ]

    def __str__(self) -> str:
        return self.name

    def set_app_secret(self, plaintext: str) -> None:
        self.app_secret_encrypted = crypto.encrypt(plaintext)

    def app_secret(self) -> str:
        return crypto.decrypt(self.app_secret_encrypted) if self.app_secret_encrypted else ""

    @property
    def has_secret(self) -> bool:
        return bool(self.app_secret_encrypted)

    @property
    def is_bound(self) -> bool:
        return self.step == self.Step.DONE


class NodeScope(models.Model):
    """A directory subtree synchronised into a DingTalk department.

    ``placement`` says how: UNDER (the default) makes the source organisation itself a
    department under the target, with its subtree below it; MERGE makes the source
    organisation correspond to the target: its child organisations become child departments
    of the target, its direct members become the target's members.
    """

    class Placement(models.TextChoices):
        UNDER = "under", _("The organisation becomes a department under the target")
        MERGE = "merge", _("Its contents merge into the target department")

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="scopes")
    organization = models.ForeignKey(
        "directory.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("source organisation"),
    )
    target_dept_id = models.BigIntegerField(_("target DingTalk department id"), default=1)
    target_dept_name = models.CharField(max_length=128, blank=True, default="")
    placement = models.CharField(
        _("placement"), max_length=8, choices=Placement.choices, default=Placement.UNDER
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("node scope")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "organization"], name="scope_unique_source"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} → {self.target_dept_id}"


class ProviderToken(models.Model):
    """The provider's DingTalk access token, shared by every job and worker.

    Encrypted like the AppSecret; ``key`` ties it to the app key and hosts it was issued for,
    so a token is never sent to another app or host.
    """

    provider = models.OneToOneField(
        IdentityProvider, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    key = models.CharField(max_length=64)
    value_encrypted = models.TextField()
    # A hash of the value: a worker forgets the token only if it is still the one it read.
    fingerprint = models.CharField(max_length=64)
    expires_at = models.FloatField()  # epoch seconds (wall clock: shared by machines)
    obtained_at = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token of provider {self.provider_id}"
