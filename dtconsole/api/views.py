"""API viewsets: a serializer, then ONE service call (reads go through querysets/queries).

Every write goes through the named services of the directory, providers and sync apps, so
the API writes the same audit entries and queues the same incremental syncs as the pages.
The services' refusals become 400/409 answers in ``dtconsole.api.exceptions``.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from dtconsole.access import roles
from dtconsole.directory import imports, upsert
from dtconsole.directory import queries as directory_queries
from dtconsole.directory import services as directory
from dtconsole.directory.models import Account, ImportBatch, Membership, Organization
from dtconsole.providers import services as providers
from dtconsole.providers.models import IdentityProvider
from dtconsole.sync import consequences
from dtconsole.sync import queries as sync_queries
from dtconsole.sync import services as sync
from dtconsole.sync.models import SyncEvent, SyncJob
from dtconsole.sync.texts import translated
from mappings.engine import Rule, evaluate
from mappings.models import FieldMapping
from mappings.sources import source_account

from . import serializers as s
from .exceptions import BulkError, Conflict, errors_from_serializer
from .pagination import IdCursorPagination
from .parsers import BoundedJSONParser
from .preconditions import ERROR_412, ERROR_428, IF_MATCH, etag, etag_header, expected_version

ERROR_400 = OpenApiResponse(OpenApiTypes.OBJECT, description="Field messages or {detail}.")
DRY_RUN = OpenApiResponse(s.DryRunSerializer, description="dry_run=true: nothing was changed.")
ERROR_409 = OpenApiResponse(OpenApiTypes.OBJECT, description="{detail}: the action is refused.")
BULK_400 = OpenApiResponse(s.BulkErrorSerializer, description="Nothing was written.")


class ApiViewSet(viewsets.GenericViewSet):
    """Base of the API: exempt from the console's login redirect (DRF answers 401/403).

    DRF 3.16+ already marks its views ``login_not_required``; the override keeps that
    guarantee here, whatever DRF version is installed.
    """

    # Ids of up to 18 digits: longer ones cannot be ids (64-bit), and would overflow a query.
    lookup_value_regex = r"[0-9]{1,18}"

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        return login_not_required(super().as_view(actions, **initkwargs))

    def valid(self, serializer_class: type[Serializer], **kwargs: Any) -> Any:
        """The request body checked by ``serializer_class`` (400 when it does not pass)."""
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def query(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        """The query parameters checked by ``serializer_class`` (400 when they do not pass)."""
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def page(self, rows: QuerySet) -> Response:
        """One page of ``rows`` in the view's serializer."""
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def show(self, instance: Any, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(instance).data, status=code)

    def unless_dry_run(self, change: Callable[[], Any], answer: Callable[[Any], Response]):
        """Make ``change`` and answer with ``answer(result)``; with ``?dry_run=true``, answer
        what it would do in DingTalk instead, changing nothing."""
        if self.query(s.DryRunQuerySerializer)["dry_run"]:
            found = consequences.preview(change)
            return Response({"dry_run": True, "consequences": [c.as_dict() for c in found]})
        return answer(change())


# --- directory -------------------------------------------------------------------------------


class OrganizationViewSet(ApiViewSet):
    """Organisations of the directory tree."""

    queryset = Organization.objects.all()
    serializer_class = s.OrganizationSerializer
    write_permission = roles.CHANGE_DIRECTORY

    @extend_schema(parameters=[s.OrganizationFilterSerializer])
    def list(self, request: Request) -> Response:
        f = self.query(s.OrganizationFilterSerializer)
        orgs = self.get_queryset()
        if "parent" in f:
            orgs = orgs.filter(parent_id=f["parent"])
        if f["roots"]:
            orgs = orgs.filter(parent__isnull=True)
        if q := f.get("q", "").strip():
            orgs = orgs.filter(Q(name__icontains=q) | Q(code__icontains=q))
        return self.page(orgs)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.show(self.get_object())

    @extend_schema(
        request=s.OrganizationCreateSerializer,
        responses={201: s.OrganizationSerializer, 400: ERROR_400},
    )
    def create(self, request: Request) -> Response:
        org = directory.organization_create(
            request.user, **self.valid(s.OrganizationCreateSerializer)
        )
        return self.show(org, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.OrganizationUpdateSerializer,
        responses={200: s.OrganizationSerializer, 400: ERROR_400},
    )
    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        org = self.get_object()
        current = {"name": org.name, "code": org.code, "order": org.order}
        data = self.valid(s.OrganizationUpdateSerializer, partial=partial)
        return self.show(directory.organization_update(request.user, org, **{**current, **data}))

    @extend_schema(
        request=s.OrganizationUpdateSerializer,
        responses={200: s.OrganizationSerializer, 400: ERROR_400},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(
        parameters=[s.DryRunQuerySerializer], responses={204: None, 200: DRY_RUN, 400: ERROR_400}
    )
    def destroy(self, request: Request, pk: str) -> Response:
        org = self.get_object()
        return self.unless_dry_run(
            lambda: directory.organization_delete(request.user, org), _no_content
        )

    @extend_schema(
        request=s.OrganizationMoveSerializer,
        parameters=[s.DryRunQuerySerializer],
        responses={200: s.OrganizationSerializer, 400: ERROR_400},
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        """Move the organisation and its subtree under ``parent`` (null: top level);
        ``dry_run=true`` answers what that would remove from DingTalk instead."""
        org = self.get_object()
        parent = self.valid(s.OrganizationMoveSerializer)["parent"]
        try:
            return self.unless_dry_run(
                lambda: directory.organization_move(request.user, org, parent), self.show
            )
        except directory.DirectoryError as exc:  # the refusal is about the parent chosen
            raise ValidationError({"parent": [str(exc)]}) from exc

    @extend_schema(
        request=s.OrganizationBulkItemSerializer(many=True),
        parameters=[s.DryRunQuerySerializer],
        responses={200: s.BulkResultSerializer, 400: BULK_400},
    )
    @action(detail=False, methods=["post"])
    def bulk_upsert(self, request: Request) -> Response:
        """Create or update organisations keyed by code, parents by code; all or nothing."""
        return _bulk_upsert(
            self,
            request,
            upsert.Kind.ORGANIZATIONS,
            s.OrganizationBulkItemSerializer,
            _("API bulk upsert of %(n)d organisations"),
            "organization",
        )


def _no_content(_result: Any) -> Response:
    return Response(status=status.HTTP_204_NO_CONTENT)


def _bulk_upsert(
    view: ApiViewSet,
    request: Request,
    kind: str,
    item_serializer: type[Serializer],
    label: str,
    model: str,
) -> Response:
    """One bulk upsert of organisations or accounts (or, with dry_run, its consequences)."""
    items = _bulk_items(request, item_serializer)
    return view.unless_dry_run(
        lambda: upsert.upsert(
            request.user,
            kind,
            upsert.rows_from_items(kind, items),
            action=f"{model}.bulk_upsert",
            object_type=f"directory.{model}",
            label=label % {"n": len(items)},
        ),
        _bulk_answer,
    )


def _bulk_answer(written: list[upsert.Written]) -> Response:
    """What a bulk upsert did: its counts, and each item in request order."""
    items = [
        {"index": w.row.number, "key": w.key, "id": w.pk, "action": upsert.PAST[w.action]}
        for w in sorted(written, key=lambda w: w.row.number)
    ]
    return Response({**upsert.counts_of(written), "items": items})


def _bulk_items(request: Request, item_serializer: type[Serializer]) -> list[dict[str, Any]]:
    """The items of a bulk request, shape-checked; errors name each item's index and field."""
    serializer = item_serializer(
        data=request.data, many=True, allow_empty=False, max_length=s.BULK_MAX_ITEMS
    )
    if not serializer.is_valid():
        raise BulkError(errors_from_serializer(serializer.errors))
    return serializer.validated_data


def _with_memberships(accounts: QuerySet[Account]) -> QuerySet[Account]:
    memberships = Membership.objects.select_related("organization")
    return accounts.prefetch_related(Prefetch("memberships", queryset=memberships))


class AccountViewSet(ApiViewSet):
    """Accounts of the directory and their memberships."""

    queryset = _with_memberships(Account.objects.all())
    serializer_class = s.AccountSerializer
    write_permission = roles.CHANGE_DIRECTORY

    @extend_schema(parameters=[s.AccountFilterSerializer])
    def list(self, request: Request) -> Response:
        f = self.query(s.AccountFilterSerializer)
        org = None
        if "organization" in f:
            org = Organization.objects.filter(pk=f["organization"]).first()
            if org is None:
                return self.page(Account.objects.none())
        accounts = directory_queries.account_list(
            query=f.get("q", ""), org=org, include_sub=f["include_sub"], status=f.get("status", "")
        )
        return self.page(_with_memberships(accounts.defer(None)))

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.show(self.get_object())

    @extend_schema(
        request=s.AccountCreateSerializer, responses={201: s.AccountSerializer, 400: ERROR_400}
    )
    def create(self, request: Request) -> Response:
        data = self.valid(s.AccountCreateSerializer)
        account = directory.account_create(request.user, **data)
        return self.show(self.get_queryset().get(pk=account.pk), status.HTTP_201_CREATED)

    @extend_schema(
        request=s.AccountUpdateSerializer, responses={200: s.AccountSerializer, 400: ERROR_400}
    )
    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        account = self.get_object()
        data = self.valid(s.AccountUpdateSerializer, partial=partial)
        directory.account_update(request.user, account, **data)
        return self.show(self.get_queryset().get(pk=account.pk))

    @extend_schema(
        request=s.AccountUpdateSerializer, responses={200: s.AccountSerializer, 400: ERROR_400}
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(parameters=[s.DryRunQuerySerializer], responses={204: None, 200: DRY_RUN})
    def destroy(self, request: Request, pk: str) -> Response:
        account = self.get_object()
        return self.unless_dry_run(
            lambda: directory.account_delete(request.user, account), _no_content
        )

    @extend_schema(
        request=None, parameters=[s.DryRunQuerySerializer], responses={200: s.AccountSerializer}
    )
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: str) -> Response:
        """Disable the account: it leaves DingTalk by each provider's deletion policy
        (``dry_run=true`` answers what that removes, changing nothing)."""
        account = self.get_object()
        return self.unless_dry_run(
            lambda: directory.account_set_status(request.user, account, Account.Status.DISABLED),
            self.show,
        )

    @extend_schema(request=None, responses={200: s.AccountSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str) -> Response:
        """Enable the account again."""
        account = self.get_object()
        return self.show(directory.account_set_status(request.user, account, Account.Status.ACTIVE))

    @extend_schema(
        request=s.AccountBulkItemSerializer(many=True),
        parameters=[s.DryRunQuerySerializer],
        responses={200: s.BulkResultSerializer, 400: BULK_400},
    )
    @action(detail=False, methods=["post"])
    def bulk_upsert(self, request: Request) -> Response:
        """Create or update accounts keyed by username, organisations as codes; all or nothing."""
        return _bulk_upsert(
            self,
            request,
            upsert.Kind.ACCOUNTS,
            s.AccountBulkItemSerializer,
            _("API bulk upsert of %(n)d accounts"),
            "account",
        )


class MembershipViewSet(ApiViewSet):
    """Memberships: account × organisation (exactly one primary per account that has any)."""

    queryset = Membership.objects.select_related("organization").order_by("id")
    serializer_class = s.MembershipSerializer
    write_permission = roles.CHANGE_DIRECTORY

    @extend_schema(parameters=[s.MembershipFilterSerializer])
    def list(self, request: Request) -> Response:
        f = self.query(s.MembershipFilterSerializer)
        rows = self.get_queryset()
        if "account" in f:
            rows = rows.filter(account_id=f["account"])
        if "organization" in f:
            rows = rows.filter(organization_id=f["organization"])
        return self.page(rows)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.show(self.get_object())

    @extend_schema(
        request=s.MembershipCreateSerializer,
        responses={201: s.MembershipSerializer, 400: ERROR_400},
    )
    def create(self, request: Request) -> Response:
        data = self.valid(s.MembershipCreateSerializer)
        membership = directory.membership_add(
            request.user,
            data["account"],
            data["organization"],
            primary=data["primary"],
            order=data["order"],
        )
        return self.show(membership, status.HTTP_201_CREATED)

    @extend_schema(parameters=[s.DryRunQuerySerializer], responses={204: None, 200: DRY_RUN})
    def destroy(self, request: Request, pk: str) -> Response:
        membership = self.get_object()
        return self.unless_dry_run(
            lambda: directory.membership_remove(request.user, membership), _no_content
        )

    @extend_schema(request=None, responses={200: s.MembershipSerializer})
    @action(detail=True, methods=["post"])
    def make_primary(self, request: Request, pk: str) -> Response:
        """Make this the account's primary membership."""
        return self.show(directory.membership_set_primary(request.user, self.get_object()))


# --- providers -------------------------------------------------------------------------------


class ConfigurationViewSet(ApiViewSet):
    """A viewset over a provider's configuration: answers carry the configuration's ETag,
    and every write must send it back in If-Match (see ``preconditions``)."""

    def tagged(self, response: Response, provider: IdentityProvider) -> Response:
        """``response`` with the provider's current configuration ETag."""
        response["ETag"] = etag(provider)
        return response

    def precondition(self, provider: IdentityProvider) -> int:
        """The version the write was made from (428 without If-Match, 412 when stale); the
        service checks it again with the provider row locked."""
        version = expected_version(self.request, provider)
        providers.check_version(provider, version)
        return version


def configuration_write(request: Any, ok: int, response: Any) -> dict[str, Any]:
    """``extend_schema`` arguments of a write to a provider's configuration (``request``
    None: the body the view's serializer implies)."""
    return {
        **({} if request is None else {"request": request}),
        "parameters": [IF_MATCH, etag_header(ok, 412)],
        "responses": {
            ok: response,
            400: ERROR_400,
            409: ERROR_409,
            412: ERROR_412,
            428: ERROR_428,
        },
    }


class ProviderViewSet(ConfigurationViewSet):
    """Bound DingTalk apps: created, configured and verified as the wizard does, through the
    same services. The AppSecret is write-only: no answer ever holds it."""

    queryset = IdentityProvider.objects.prefetch_related("scopes__organization")
    serializer_class = s.ProviderSerializer
    write_permission = roles.MANAGE_PROVIDERS
    action_permissions = {"sync": roles.RUN_SYNC}

    def list(self, request: Request) -> Response:
        return self.page(self.get_queryset())

    @extend_schema(parameters=[etag_header(200)])
    def retrieve(self, request: Request, pk: str) -> Response:
        provider = self.get_object()
        return self.tagged(self.show(provider), provider)

    @extend_schema(
        request=s.ProviderCreateSerializer,
        parameters=[etag_header(201)],
        responses={201: s.ProviderSerializer, 400: ERROR_400},
    )
    def create(self, request: Request) -> Response:
        """Create a draft provider (wizard step 1); verify it next."""
        data = self.valid(s.ProviderCreateSerializer)
        provider = providers.provider_create(request.user, data, data.pop("app_secret"))
        return self.tagged(self.show(provider, status.HTTP_201_CREATED), provider)

    @extend_schema(**configuration_write(s.ProviderUpdateSerializer, 200, s.ProviderSerializer))
    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        """Replace the application fields, scenario switches and sync settings (all but
        ``app_secret`` are required); each part is audited with its before → after."""
        provider = self.get_object()
        version = self.precondition(provider)
        data = self.valid(s.ProviderUpdateSerializer, partial=partial)
        secret = data.pop("app_secret", "")
        providers.provider_update(request.user, provider, data, secret, version=version)
        return self.tagged(self.show(provider), provider)

    @extend_schema(**configuration_write(s.ProviderUpdateSerializer, 200, s.ProviderSerializer))
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change some application fields, scenario switches or sync settings; the others
        are kept."""
        return self.update(request, pk, partial=True)

    @extend_schema(
        methods=["GET"],
        parameters=[etag_header(200)],
        responses={200: s.NodeScopeSerializer(many=True)},
    )
    @extend_schema(
        methods=["PUT"],
        **configuration_write(
            s.ScopeInputSerializer(many=True), 200, s.NodeScopeSerializer(many=True)
        ),
    )
    @action(detail=True, methods=["get", "put"], pagination_class=None)
    def scopes(self, request: Request, pk: str) -> Response:
        """The provider's scopes; PUT replaces them all (each target is read from DingTalk)."""
        provider = self.get_object()
        if request.method == "PUT":
            version = self.precondition(provider)
            items = self.valid(s.ScopeInputSerializer, many=True, max_length=s.MAX_SCOPES)
            scopes = [
                providers.ScopeRequest(i["organization"], i["target_dept_id"], i["placement"])
                for i in items
            ]
            providers.provider_set_scenario(request.user, provider, scopes, None, version=version)
        rows = provider.scopes.select_related("organization").order_by("id")
        return self.tagged(Response(s.NodeScopeSerializer(rows, many=True).data), provider)

    @extend_schema(request=None, responses={200: s.VerificationSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str) -> Response:
        """Check against DingTalk that the app can read and manage the address book."""
        result = providers.provider_verify(request.user, self.get_object())
        findings = [f.as_dict() for f in result.findings]
        return Response({"ok": result.ok, "findings": findings})

    @extend_schema(
        request=s.SyncRequestSerializer, responses={202: s.SyncJobSerializer, 409: ERROR_409}
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str) -> Response:
        """Queue a full synchronisation (or a dry run) of the provider."""
        provider = self.get_object()
        dry_run = self.valid(s.SyncRequestSerializer)["dry_run"]
        if not provider.is_bound:
            raise Conflict(_("Finish binding the provider (the wizard's four steps) first."))
        job = sync.sync_job_enqueue(
            request.user,
            provider,
            kind=SyncJob.Kind.FULL,
            trigger=SyncJob.Trigger.API,
            dry_run=dry_run,
        )
        return Response(s.SyncJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


# --- field mappings --------------------------------------------------------------------------


@extend_schema(parameters=[OpenApiParameter("provider_pk", int, OpenApiParameter.PATH)])
class FieldMappingViewSet(ConfigurationViewSet):
    """The field mapping rows of one provider, identified by their field identity (target).

    Every change saves the provider's whole rule list through ``provider_save_mappings``,
    which checks it with the mapping engine and writes the audit entry. The list is built
    from the stored rows, so every change must name (If-Match) the version it read.
    """

    serializer_class = s.FieldMappingSerializer
    write_permission = roles.MANAGE_PROVIDERS
    action_permissions = {"preview": roles.VIEW}  # a POST that writes nothing
    lookup_field = "target"
    lookup_value_regex = r"[^/]+"

    def provider(self) -> IdentityProvider:
        return get_object_or_404(IdentityProvider, pk=self.kwargs["provider_pk"])

    def get_queryset(self) -> QuerySet[FieldMapping]:
        return FieldMapping.objects.filter(provider_id=self.kwargs.get("provider_pk"))

    @extend_schema(parameters=[etag_header(200)])
    def list(self, request: Request, provider_pk: str) -> Response:
        provider = self.provider()
        return self.tagged(self.page(provider.field_mappings.order_by("position", "id")), provider)

    @extend_schema(parameters=[etag_header(200)])
    def retrieve(self, request: Request, provider_pk: str, target: str) -> Response:
        return self.tagged(self.show(self.get_object()), self.provider())

    @extend_schema(**configuration_write(None, 201, s.FieldMappingSerializer))
    def create(self, request: Request, provider_pk: str) -> Response:
        provider = self.provider()
        version = self.precondition(provider)
        data = self.valid(s.FieldMappingSerializer)
        rules = _placed(providers.provider_rules(provider), data)
        return self._save(provider, version, rules, data["target"], status.HTTP_201_CREATED)

    @extend_schema(**configuration_write(None, 200, s.FieldMappingSerializer))
    def update(
        self, request: Request, provider_pk: str, target: str, partial: bool = False
    ) -> Response:
        provider, current = self.provider(), self.get_object()
        version = self.precondition(provider)
        data = self.valid(s.FieldMappingSerializer, partial=partial)
        kept = s.FieldMappingSerializer(current).data if partial else {}
        data = {**kept, "position": current.position, **data}
        rules = [r for r in providers.provider_rules(provider) if r.target != current.target]
        return self._save(provider, version, _placed(rules, data), data["target"])

    @extend_schema(**configuration_write(None, 200, s.FieldMappingSerializer))
    def partial_update(self, request: Request, provider_pk: str, target: str) -> Response:
        return self.update(request, provider_pk, target, partial=True)

    @extend_schema(**configuration_write(None, 204, None))
    def destroy(self, request: Request, provider_pk: str, target: str) -> Response:
        provider, current = self.provider(), self.get_object()
        version = self.precondition(provider)
        rules = [r for r in providers.provider_rules(provider) if r.target != current.target]
        providers.provider_save_mappings(
            request.user, provider, rules, provider.match_keys, version=version
        )
        return self.tagged(Response(status=status.HTTP_204_NO_CONTENT), provider)

    @extend_schema(
        request=s.MappingPreviewRequestSerializer,
        responses={200: s.MappingPreviewSerializer, 400: ERROR_400},
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request, provider_pk: str) -> Response:
        """What the provider's current rules make of one account (writes nothing)."""
        provider = self.provider()
        data = self.valid(s.MappingPreviewRequestSerializer)
        account = _preview_account(data)
        result = evaluate(
            providers.provider_rules(provider), source_account(account), creating=True
        )
        body = {
            "account": account.pk,
            "username": account.username,
            "ok": result.ok,
            "payload": result.payload,
            "errors": [{"target": e.target, "message": translated(e.text)} for e in result.errors],
        }
        return Response(body)

    def _save(
        self,
        provider: IdentityProvider,
        version: int,
        rules: Sequence[Rule],
        target: str,
        code: int = 200,
    ) -> Response:
        providers.provider_save_mappings(
            self.request.user, provider, rules, provider.match_keys, version=version
        )
        return self.tagged(self.show(provider.field_mappings.get(target=target), code), provider)


def _placed(rules: list[Rule], data: dict[str, Any]) -> list[Rule]:
    """``rules`` with the rule of ``data`` inserted at its position (appended when absent)."""
    position = data.get("position")
    position = len(rules) if position is None else min(position, len(rules))
    return [*rules[:position], s.rule_from(data), *rules[position:]]


def _preview_account(data: dict[str, Any]) -> Account:
    if data.get("account"):
        return get_object_or_404(Account, pk=data["account"])
    return get_object_or_404(Account, username=data["username"])


# --- sync ------------------------------------------------------------------------------------


class ImportViewSet(ApiViewSet):
    """CSV imports: upload a file (checked and stored at once, nothing imported), page its
    rows, then commit it: the import runs as a background job whose progress this reports."""

    queryset = ImportBatch.objects.defer("content").select_related("uploaded_by", "committed_by")
    serializer_class = s.ImportBatchSerializer
    write_permission = roles.CHANGE_DIRECTORY
    parser_classes = [MultiPartParser, BoundedJSONParser]

    def list(self, request: Request) -> Response:
        return self.page(self.get_queryset())

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.show(self.get_object())

    @extend_schema(
        request={"multipart/form-data": s.ImportUploadSerializer},
        responses={201: s.ImportBatchSerializer, 400: ERROR_400},
    )
    def create(self, request: Request) -> Response:
        """Check every row of the file against the directory and store the result; what the
        import would remove from DingTalk is in ``consequences``. Nothing is imported."""
        data = self.valid(s.ImportUploadSerializer)
        upload = data["file"]
        try:
            batch = imports.import_upload(
                request.user,
                kind=data["kind"],
                filename=upload.name or "",
                data=upload.read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
            )
        except DjangoValidationError as exc:
            raise ValidationError({"file": exc.messages}) from exc
        return self.show(batch, status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[s.ImportRowFilterSerializer], responses={200: s.ImportRowSerializer(many=True)}
    )
    @action(detail=True, methods=["get"])
    def rows(self, request: Request, pk: str) -> Response:
        """The stored check, row by row, rows with errors first (read, never computed again)."""
        batch = imports.import_checked(self.get_object())
        rows = batch.checked_rows.all()
        if self.query(s.ImportRowFilterSerializer)["bad"]:
            rows = rows.filter(is_bad=True)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.ImportRowSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        parameters=[s.DryRunQuerySerializer],
        responses={202: s.ImportBatchSerializer, 200: DRY_RUN, 409: ERROR_409},
    )
    @action(detail=True, methods=["post"])
    def commit(self, request: Request, pk: str) -> Response:
        """Start the import job (202); follow it with GET. ``dry_run=true`` answers what the
        import would remove from DingTalk instead, starting nothing."""
        batch = self.get_object()
        if self.query(s.DryRunQuerySerializer)["dry_run"]:
            found = imports.import_consequences_as_dicts(batch)
            return Response({"dry_run": True, "consequences": found})
        try:
            batch = imports.import_commit(request.user, batch)
        except imports.ImportRefused as exc:
            raise Conflict(str(exc)) from exc
        return self.show(self.get_queryset().get(pk=batch.pk), status.HTTP_202_ACCEPTED)


class SyncJobViewSet(ApiViewSet):
    """Synchronisation runs, newest first; approve, reject or cancel one."""

    queryset = SyncJob.objects.select_related("provider", "requested_by")
    serializer_class = s.SyncJobSerializer
    write_permission = roles.DECIDE_SYNC
    pagination_class = IdCursorPagination

    @extend_schema(parameters=[s.SyncJobFilterSerializer])
    def list(self, request: Request) -> Response:
        f = self.query(s.SyncJobFilterSerializer)
        jobs = self.get_queryset()
        if "provider" in f:
            jobs = jobs.filter(provider_id=f["provider"])
        for name in ("status", "kind"):
            if f.get(name):
                jobs = jobs.filter(**{name: f[name]})
        return self.page(jobs)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.show(self.get_object())

    @extend_schema(request=None, responses={200: s.SyncJobSerializer, 409: ERROR_409})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """Let a run stopped at the deletion threshold carry out its deletions."""
        return self.show(sync.sync_job_approve(request.user, self.get_object()))

    @extend_schema(request=None, responses={200: s.SyncJobSerializer, 409: ERROR_409})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        """Refuse the deletions of a run awaiting approval."""
        return self.show(sync.sync_job_reject(request.user, self.get_object()))

    @extend_schema(request=None, responses={200: s.SyncJobSerializer, 409: ERROR_409})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel a queued job or one awaiting approval."""
        return self.show(sync.sync_job_cancel(request.user, self.get_object()))


class SyncEventViewSet(ApiViewSet):
    """Sync events, newest first, with cursor pagination (fast at a million rows)."""

    queryset = SyncEvent.objects.select_related("provider")
    serializer_class = s.SyncEventSerializer
    pagination_class = IdCursorPagination

    @extend_schema(parameters=[s.SyncEventFilterSerializer])
    def list(self, request: Request) -> Response:
        f = self.query(s.SyncEventFilterSerializer)
        provider = IdentityProvider(pk=f["provider"]) if "provider" in f else None
        filters = sync_queries.EventFilters(**{**f, "provider": provider})
        return self.page(sync_queries.event_list(filters).defer(None))

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.show(self.get_object())
