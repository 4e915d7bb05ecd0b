"""Serializers of the API: output shapes, and input shapes checked before one service call.

Input serializers check shapes only (types, lengths, choices, references that exist); the
directory's rules (username and mobile formats, uniqueness, the tree) live in the models'
validators and run inside the services, whose errors become 400 answers with field messages.
"""

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dtconsole.directory.models import (
    Account,
    ImportBatch,
    ImportCheckedRow,
    Membership,
    Organization,
)
from dtconsole.directory.validators import validate_json_bounds
from dtconsole.providers.forms import AGENT_ID_RE, APP_KEY_RE, CORP_ID_RE, default_bases
from dtconsole.providers.models import IdentityProvider, NodeScope
from dtconsole.providers.services import SCENARIO_FIELDS, SETTINGS_FIELDS
from dtconsole.sync.models import SyncEvent, SyncJob
from mappings.engine import Rule
from mappings.models import FieldMapping

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
BULK_MAX_ITEMS = 1000
MAX_ORGS_PER_ACCOUNT = 50
MAX_SCOPES = 50
APP_SECRET_RE = r"^\S{16,128}$"  # noqa: S105 (a pattern, not a password)
APP_SECRET_INVALID = _("An AppSecret is 16 to 128 characters without spaces.")


def order_field(**kwargs: Any) -> serializers.IntegerField:
    """An ``order`` that fits the database column (a 32-bit integer on PostgreSQL)."""
    return serializers.IntegerField(min_value=INT32_MIN, max_value=INT32_MAX, **kwargs)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """An object id in a filter (a positive 64-bit integer)."""
    kwargs.setdefault("required", False)
    return serializers.IntegerField(min_value=1, max_value=2**63 - 1, **kwargs)


def text(max_length: int, **kwargs: Any) -> serializers.CharField:
    """An optional text field that may be empty."""
    kwargs.setdefault("required", False)
    return serializers.CharField(max_length=max_length, allow_blank=True, **kwargs)


class ExtraField(serializers.DictField):
    """``Account.extra``: a JSON object that every database stores and every answer can carry:
    finite numbers, and text without NUL characters or unpaired surrogates."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        try:  # first: the checks below walk the value recursively
            validate_json_bounds(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        value = super().to_internal_value(data)
        try:
            json.dumps(value, allow_nan=False)
        except ValueError as exc:
            raise serializers.ValidationError(_("Numbers must be finite.")) from exc
        if not _storable(value):
            raise serializers.ValidationError(_("Text may not hold NUL characters or surrogates."))
        return value


def _storable(value: Any) -> bool:
    """Whether every string inside ``value`` (keys too) is valid UTF-8 text without NUL."""
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    return True


# --- directory -------------------------------------------------------------------------------


class OrganizationSerializer(serializers.ModelSerializer):
    """An organisation as the API shows it."""

    class Meta:
        model = Organization
        fields = ["id", "parent", "name", "code", "order", "path", "depth", "created_at"]
        read_only_fields = fields


class OrganizationCreateSerializer(serializers.Serializer):
    """Input of ``organization_create``."""

    parent = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), allow_null=True, required=False, default=None
    )
    name = serializers.CharField(max_length=64)
    code = serializers.CharField(max_length=64, allow_null=True, allow_blank=True, required=False)
    order = order_field(required=False, default=0)


class OrganizationUpdateSerializer(serializers.Serializer):
    """Input of ``organization_update`` (moving is the ``move`` action)."""

    name = serializers.CharField(max_length=64)
    code = serializers.CharField(max_length=64, allow_null=True, allow_blank=True)
    order = order_field()


class OrganizationMoveSerializer(serializers.Serializer):
    """Input of ``organization_move``: the new parent, null for a top-level organisation."""

    parent = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), allow_null=True
    )


class OrganizationFilterSerializer(serializers.Serializer):
    """Query parameters of the organisation list."""

    parent = id_field(help_text="Only the direct children of this organisation.")
    roots = serializers.BooleanField(
        required=False, default=False, help_text="Only top-level organisations."
    )
    q = serializers.CharField(
        required=False, max_length=100, help_text="Name or code contains (case-insensitive)."
    )


class MembershipSerializer(serializers.ModelSerializer):
    """A membership: account × organisation, primary flag, order."""

    primary = serializers.BooleanField(source="is_primary", read_only=True)
    organization_code = serializers.CharField(
        source="organization.code", read_only=True, allow_null=True
    )
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "account",
            "organization",
            "organization_code",
            "organization_name",
            "primary",
            "order",
        ]
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    """Input of ``membership_add``."""

    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all())
    primary = serializers.BooleanField(required=False, default=False)
    order = order_field(required=False, default=0)


class MembershipFilterSerializer(serializers.Serializer):
    """Query parameters of the membership list."""

    account = id_field()
    organization = id_field()


class AccountMembershipSerializer(MembershipSerializer):
    class Meta(MembershipSerializer.Meta):
        fields = [f for f in MembershipSerializer.Meta.fields if f != "account"]
        read_only_fields = fields


class AccountSerializer(serializers.ModelSerializer):
    """An account with its memberships (primary first)."""

    memberships = AccountMembershipSerializer(many=True, read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "username",
            "display_name",
            "mobile",
            "email",
            "job_number",
            "title",
            "work_place",
            "hired_date",
            "extra",
            "status",
            "memberships",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccountFieldsSerializer(serializers.Serializer):
    """The attributes of an account, each optional (the services decide what is required)."""

    display_name = serializers.CharField(max_length=80)
    mobile = text(
        24,
        help_text=gettext_lazy(
            "Mainland 13800138000 or another region's +852-61234567; other spellings "
            "(+86 138 0013 8000, 0086…) are stored in that normal form. Unique in any spelling."
        ),
    )
    email = text(254)
    job_number = text(50)
    title = text(200)
    work_place = text(100)
    hired_date = serializers.DateField(required=False, allow_null=True)
    extra = ExtraField(required=False)


class AccountCreateSerializer(AccountFieldsSerializer):
    """Input of ``account_create``: the first organisation is primary unless ``primary``."""

    username = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=Account.Status.choices, required=False)
    organizations = serializers.ListField(
        child=serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all()),
        required=False,
        max_length=MAX_ORGS_PER_ACCOUNT,
        help_text="Organisation ids; the first is primary unless ``primary`` says otherwise.",
    )
    primary = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), required=False, allow_null=True
    )

    def validate_organizations(self, value: list[Organization]) -> list[Organization]:
        if len({org.pk for org in value}) != len(value):
            raise serializers.ValidationError(_("An organisation is listed twice."))
        return value


class AccountUpdateSerializer(AccountFieldsSerializer):
    """Input of ``account_update`` (status: the ``enable``/``disable`` actions)."""

    username = serializers.CharField(
        max_length=64, required=False, help_text="Cannot change; accepted when unchanged."
    )


class AccountFilterSerializer(serializers.Serializer):
    """Query parameters of the account list."""

    q = serializers.CharField(
        required=False,
        max_length=100,
        help_text="Display name, username, mobile or email contains (case-insensitive).",
    )
    status = serializers.ChoiceField(choices=Account.Status.choices, required=False)
    organization = id_field(help_text="Members of this organisation.")
    include_sub = serializers.BooleanField(
        required=False, default=False, help_text="With ``organization``: its whole subtree."
    )


# --- bulk upsert -----------------------------------------------------------------------------


class AccountBulkItemSerializer(AccountFieldsSerializer):
    """One account of a bulk upsert, keyed by username; absent attributes are kept.

    ``organizations`` (codes, the first primary) replaces the memberships when present.
    """

    username = serializers.CharField(max_length=64)
    display_name = serializers.CharField(max_length=80, required=False)
    status = serializers.ChoiceField(choices=Account.Status.choices, required=False)
    organizations = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=MAX_ORGS_PER_ACCOUNT,
        help_text=(
            "Organisation codes; the first is primary. A non-empty list replaces the "
            "memberships, an empty one keeps them (as an empty CSV cell does)."
        ),
    )


class OrganizationBulkItemSerializer(serializers.Serializer):
    """One organisation of a bulk upsert, keyed by code; absent values are kept."""

    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=64, required=False)
    parent = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="Code of the parent (in the directory or this request); null: top level.",
    )
    order = order_field(required=False)


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    key = serializers.CharField()
    id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["created", "updated", "unchanged"])


class BulkResultSerializer(serializers.Serializer):
    """What a bulk upsert did, item by item."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    items = BulkItemResultSerializer(many=True)


class BulkItemErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class BulkErrorSerializer(serializers.Serializer):
    """A refused bulk upsert: nothing was written."""

    detail = serializers.CharField()
    errors = BulkItemErrorSerializer(many=True)


# --- providers -------------------------------------------------------------------------------


class NodeScopeSerializer(serializers.ModelSerializer):
    """A scope: a directory subtree, the DingTalk department it goes to, and how."""

    organization_name = serializers.CharField(source="organization.name", read_only=True)
    organization_code = serializers.CharField(
        source="organization.code", read_only=True, allow_null=True
    )

    class Meta:
        model = NodeScope
        fields = [
            "organization",
            "organization_name",
            "organization_code",
            "target_dept_id",
            "target_dept_name",
            "placement",
        ]
        read_only_fields = fields


class ScopeInputSerializer(serializers.Serializer):
    """One scope of ``PUT …/scopes/``: the list replaces the provider's scopes."""

    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), help_text="Id of the source organisation."
    )
    target_dept_id = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        default=1,
        help_text="DingTalk department id (1: the root); DingTalk is asked for its name.",
    )
    placement = serializers.ChoiceField(
        choices=NodeScope.Placement.choices,
        required=False,
        default=NodeScope.Placement.UNDER,
        help_text=(
            "under: the organisation becomes a department under the target; merge: its "
            "sub-organisations and members merge into the target."
        ),
    )


class ProviderApplicationSerializer(serializers.Serializer):
    """The DingTalk app's identity and endpoints (wizard step 1)."""

    name = serializers.CharField(max_length=100)
    corp_id = serializers.RegexField(
        CORP_ID_RE, max_length=64, help_text="Starts with “ding”, e.g. ding1a2b3c4d5e6f."
    )
    app_key = serializers.RegexField(APP_KEY_RE, max_length=64, help_text="The Client ID.")
    agent_id = serializers.RegexField(AGENT_ID_RE, max_length=32, help_text="Digits only.")
    oapi_base = serializers.URLField(max_length=200, help_text="Old-style API base URL.")
    api_base = serializers.URLField(max_length=200, help_text="New-style API base URL.")
    login_base = serializers.URLField(max_length=200, help_text="Login base URL.")
    app_secret = serializers.RegexField(
        APP_SECRET_RE,
        write_only=True,
        required=False,
        help_text=(
            "Write-only: never returned, logged or audited. Required to create, and to change "
            "any API base URL; absent keeps the stored secret."
        ),
        error_messages={"invalid": APP_SECRET_INVALID},
    )


class ProviderCreateSerializer(ProviderApplicationSerializer):
    """Input of ``provider_create``: base URLs default to DingTalk's (or DINGTALK_BASE_URL)."""

    oapi_base = serializers.URLField(max_length=200, required=False)
    api_base = serializers.URLField(max_length=200, required=False)
    login_base = serializers.URLField(max_length=200, required=False)
    app_secret = serializers.RegexField(
        APP_SECRET_RE,
        write_only=True,
        help_text="Write-only: never returned, logged or audited.",
        error_messages={"invalid": APP_SECRET_INVALID},
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {**default_bases(), **attrs}


class ProviderSwitchesSerializer(serializers.Serializer):
    """The scenario's feature switches (wizard step 3)."""

    incremental_enabled = serializers.BooleanField(
        help_text="Push each directory change within seconds (after one full sync)."
    )
    qr_logon_enabled = serializers.BooleanField(help_text="Offer “Log in with DingTalk”.")
    multi_org_enabled = serializers.BooleanField(
        help_text="Put a person in every in-scope organisation they belong to."
    )


class ProviderSerializer(serializers.ModelSerializer):
    """A provider without its secret: ``has_secret`` says whether one is stored."""

    has_secret = serializers.BooleanField(read_only=True)
    is_bound = serializers.BooleanField(read_only=True)
    scopes = NodeScopeSerializer(many=True, read_only=True)

    class Meta:
        model = IdentityProvider
        fields = [
            "id",
            "name",
            "corp_id",
            "app_key",
            "agent_id",
            "has_secret",
            "oapi_base",
            "api_base",
            "login_base",
            "step",
            "is_bound",
            "verified_at",
            "verification_ok",
            "verification",
            # every scenario switch and sync setting a service writes, so a new one shows
            *SCENARIO_FIELDS,
            "match_keys",
            *SETTINGS_FIELDS,
            "scopes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProviderSettingsSerializer(serializers.Serializer):
    """The provider's sync settings (``provider_update_settings``); absent fields are kept."""

    delete_policy = serializers.ChoiceField(
        choices=IdentityProvider.DeletePolicy.choices,
        help_text="delete: delete in DingTalk; unlink: keep in DingTalk and stop managing.",
    )
    deletion_threshold_count = serializers.IntegerField(
        min_value=0,
        max_value=INT32_MAX,
        help_text="A run deleting more than this many users and departments waits for approval.",
    )
    deletion_threshold_percent = serializers.IntegerField(
        min_value=0,
        max_value=100,
        help_text="... or more than this percentage of everything the provider manages.",
    )
    deletion_window_hours = serializers.IntegerField(
        min_value=1,
        max_value=720,
        help_text="Deletions are counted over this rolling window across every job.",
    )
    protect_adopted = serializers.BooleanField(
        help_text=(
            "Unlink instead of delete a DingTalk user the console matched rather than created "
            "(leavers among them then stay in DingTalk)."
        )
    )
    full_sync_interval_hours = serializers.IntegerField(
        min_value=0,
        max_value=32767,
        help_text="0: off; otherwise a full sync every N hours (needs a running worker).",
    )
    qps = serializers.IntegerField(
        min_value=1,
        max_value=60,
        help_text="Calls per second per DingTalk API: 20 (standard edition) or 60 (add-on pack).",
    )


class ProviderUpdateSerializer(
    ProviderApplicationSerializer, ProviderSwitchesSerializer, ProviderSettingsSerializer
):
    """Input of ``provider_update``: PUT needs every field but ``app_secret``; PATCH any."""


class FindingSerializer(serializers.Serializer):
    kind = serializers.CharField()
    message = serializers.CharField()
    action = serializers.CharField()
    link = serializers.CharField(allow_blank=True)


class VerificationSerializer(serializers.Serializer):
    """The outcome of ``provider_verify``: ok, or findings an admin can act on."""

    ok = serializers.BooleanField()
    findings = FindingSerializer(many=True)


class SyncRequestSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, default=False)


# --- field mappings --------------------------------------------------------------------------


class FieldMappingSerializer(serializers.ModelSerializer):
    """One field mapping row; ``target`` (the field identity) identifies it in the URL."""

    target = serializers.CharField(max_length=64)
    display_name = text(64, default="")
    is_extension = serializers.BooleanField(required=False, default=False)
    source_kind = serializers.ChoiceField(choices=FieldMapping.SourceKind.choices)
    source = text(500, default="")
    apply = serializers.ChoiceField(
        choices=FieldMapping.Apply.choices, required=False, default=FieldMapping.Apply.ALWAYS
    )
    default = text(200, default="")
    position = serializers.IntegerField(
        required=False, min_value=0, max_value=1000, help_text="Row index; absent: last."
    )

    class Meta:
        model = FieldMapping
        fields = [
            "target",
            "display_name",
            "is_extension",
            "source_kind",
            "source",
            "apply",
            "default",
            "position",
        ]


def rule_from(data: dict[str, Any]) -> Rule:
    """The engine rule of a field mapping row's values."""
    return Rule(
        target=data["target"],
        source_kind=data["source_kind"],
        source=data.get("source", ""),
        apply=data.get("apply", FieldMapping.Apply.ALWAYS),
        default=data.get("default", ""),
        is_extension=data.get("is_extension", False),
        display_name=data.get("display_name", ""),
    )


class MappingPreviewRequestSerializer(serializers.Serializer):
    """The account to preview, by username or by id."""

    username = serializers.CharField(max_length=64, required=False)
    account = id_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("username") and not attrs.get("account"):
            raise serializers.ValidationError(_("Give a username or an account id."))
        return attrs


class MappingErrorSerializer(serializers.Serializer):
    target = serializers.CharField()
    message = serializers.CharField()


class MappingPreviewSerializer(serializers.Serializer):
    """The DingTalk user payload the provider's rules make of one account, and the errors."""

    account = serializers.IntegerField()
    username = serializers.CharField()
    ok = serializers.BooleanField()
    payload = serializers.DictField()
    errors = MappingErrorSerializer(many=True)


# --- sync ------------------------------------------------------------------------------------


class SyncJobSerializer(serializers.ModelSerializer):
    """A synchronisation run."""

    provider_name = serializers.CharField(source="provider.name", read_only=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    deletions_approved = serializers.BooleanField(read_only=True)

    class Meta:
        model = SyncJob
        fields = [
            "id",
            "provider",
            "provider_name",
            "kind",
            "trigger",
            "dry_run",
            "status",
            "counters",
            "progress_done",
            "progress_total",
            "error",
            "deletions_approved",
            "decision",
            "planned_deletions",
            "scope",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class SyncJobFilterSerializer(serializers.Serializer):
    provider = id_field()
    status = serializers.ChoiceField(choices=SyncJob.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=SyncJob.Kind.choices, required=False)


class SyncEventSerializer(serializers.ModelSerializer):
    """One attempt at one object during a job."""

    provider_name = serializers.CharField(source="provider.name", read_only=True)

    class Meta:
        model = SyncEvent
        fields = [
            "id",
            "job",
            "provider",
            "provider_name",
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
            "hint",
            "duration_ms",
            "created_at",
        ]
        read_only_fields = fields


class SyncEventFilterSerializer(serializers.Serializer):
    provider = id_field()
    job = id_field()
    object_type = serializers.ChoiceField(choices=SyncEvent.ObjectType.choices, required=False)
    action = serializers.ChoiceField(choices=SyncEvent.Action.choices, required=False)
    status = serializers.ChoiceField(choices=SyncEvent.Status.choices, required=False)
    since = serializers.DateTimeField(required=False, help_text="Created at or after.")
    until = serializers.DateTimeField(required=False, help_text="Created before.")
    q = serializers.CharField(
        required=False,
        max_length=80,
        help_text="Prefix of the name, username or code, DingTalk id or mobile (case as typed).",
    )


class ConsequenceSerializer(serializers.Serializer):
    """What a directory change would do in one provider's DingTalk (``dry_run=true``)."""

    provider = serializers.IntegerField()
    provider_name = serializers.CharField()
    removed_users = serializers.ListField(child=serializers.CharField())
    removed_departments = serializers.ListField(child=serializers.CharField())
    unlinked_users = serializers.IntegerField()
    stops_for_approval = serializers.BooleanField()
    summary = serializers.CharField()
    approval = serializers.CharField()


class DryRunSerializer(serializers.Serializer):
    """The answer of a destructive call made with ``dry_run=true``: nothing was changed."""

    dry_run = serializers.BooleanField()
    consequences = ConsequenceSerializer(many=True)


class DryRunQuerySerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy(
            "true: change nothing; answer what the call would remove from DingTalk, per "
            "provider, and whether that would stop for approval."
        ),
    )


# --- CSV import ------------------------------------------------------------------------------


class ImportUploadSerializer(serializers.Serializer):
    """A CSV file to check and store (multipart/form-data); nothing is imported yet."""

    kind = serializers.ChoiceField(choices=ImportBatch.Kind.choices)
    file = serializers.FileField(
        help_text=gettext_lazy(
            "UTF-8 (with or without BOM) or GB18030 CSV; the first line names the columns."
        )
    )


class ImportCountsSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    create = serializers.IntegerField()
    update = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    bad = serializers.IntegerField()


class ImportBatchSerializer(serializers.ModelSerializer):
    """An uploaded file: the counts of its check, its job's status and progress, and (once
    done) the counts of the import or the sentence that says why it failed."""

    counts = serializers.SerializerMethodField()
    consequences = serializers.SerializerMethodField()
    uploaded_by = serializers.CharField(source="uploaded_by.username", default=None)
    committed_by = serializers.CharField(source="committed_by.username", default=None)
    error = serializers.SerializerMethodField()
    total = serializers.IntegerField(read_only=True, help_text="Rows the import writes.")

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "kind",
            "filename",
            "status",
            "row_count",
            "counts",
            "consequences",
            "done",
            "total",
            "summary",
            "error",
            "uploaded_by",
            "committed_by",
            "created_at",
            "queued_at",
            "started_at",
            "committed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ImportCountsSerializer)
    def get_counts(self, batch: ImportBatch) -> dict[str, int]:
        return (batch.checked or {}).get("counts", {})

    @extend_schema_field(ConsequenceSerializer(many=True))
    def get_consequences(self, batch: ImportBatch) -> list[dict[str, Any]]:
        from dtconsole.directory.imports import import_consequences_as_dicts

        return import_consequences_as_dicts(batch)

    def get_error(self, batch: ImportBatch) -> str:
        return str((batch.summary or {}).get("error", ""))


class ImportRowSerializer(serializers.ModelSerializer):
    """One row of the stored check: its action, or its errors (each naming row and column),
    in the reader's language."""

    errors = serializers.ListField(source="messages", child=serializers.CharField())
    changes = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(allow_blank=True)),
        help_text="An update's changed columns: column -> [value now, value after the import].",
    )

    class Meta:
        model = ImportCheckedRow
        fields = ["number", "action", "is_bad", "cells", "changes", "errors"]
        read_only_fields = fields


class ImportRowFilterSerializer(serializers.Serializer):
    bad = serializers.BooleanField(
        required=False, default=False, help_text="true: only the rows with errors."
    )
