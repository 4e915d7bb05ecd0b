"""Directory pages: the organisation tree, organisations, accounts and their memberships.

Thin views: a form, one service call, then a redirect (with a message) or a render. Reads go
through ``queries``; every write goes through ``services``. Login is required by middleware.
"""

from copy import copy
from typing import Any

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dtconsole.access import roles
from dtconsole.access.decorators import page_requires
from dtconsole.sync import consequences
from dtconsole.sync import queries as sync_queries

from . import queries, services
from .forms import (
    PICKER_FIELD_RE,
    AccountCreateForm,
    AccountFilterForm,
    AccountForm,
    MembershipAddForm,
    OrganizationCreateForm,
    OrganizationForm,
    OrganizationMoveForm,
)
from .models import Account, Membership, Organization

PER_PAGE = 50
LOOKUP_LIMIT = 20


def _consequences(change) -> dict[str, Any]:
    """The template context of what ``change`` would do in DingTalk (it is not made). A
    change the service refuses has none: making it for real then shows the refusal."""
    try:
        found = consequences.preview(change)
    except (services.ValidationError, services.DirectoryError):
        found = []
    return {"consequences": found, "removes": consequences.removes_anything(found)}


def _posted(request: HttpRequest) -> Any:
    """The submitted data for a POST (even an empty one), None otherwise."""
    return request.POST if request.method == "POST" else None


def _page(request: HttpRequest, items: QuerySet, per_page: int = PER_PAGE) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _form_page(
    request: HttpRequest, template: str, context: dict[str, Any], form: Any
) -> HttpResponse:
    """Render a form page: 400 when a submitted form was refused, 200 otherwise."""
    status = 400 if form.is_bound and form.errors else 200
    return render(request, template, {**context, "form": form}, status=status)


# --- organisation tree -----------------------------------------------------------------------


def org_tree(request: HttpRequest) -> HttpResponse:
    """The tree (roots expanded), or the organisations matching ``q``."""
    query = request.GET.get("q", "").strip()
    context: dict[str, Any] = {"query": query}
    if query:
        context["matches"] = queries.org_search(query)
    else:
        context["nodes"] = queries.tree_roots()
    return render(request, "directory/org_tree.html", context)


def org_children(request: HttpRequest, pk: int) -> HttpResponse:
    """Partial: the children of one node, fetched when it is expanded."""
    org = get_object_or_404(Organization.objects.only("path"), pk=pk)
    nodes = queries.tree_children(org)
    return render(request, "directory/_org_children.html", {"nodes": nodes})


def org_lookup(request: HttpRequest) -> HttpResponse:
    """Partial: organisations matching ``q`` as picker options (radio or checkbox inputs)."""
    field = request.GET.get("field", "")
    primary = request.GET.get("primary", "")
    context = {
        "matches": queries.org_search(request.GET.get("q", ""), limit=LOOKUP_LIMIT),
        "field": field if PICKER_FIELD_RE.match(field) else "organization",
        "mode": "checkbox" if request.GET.get("mode") == "checkbox" else "radio",
        "primary_field": primary if PICKER_FIELD_RE.match(primary) else "",
        "searched": bool(request.GET.get("q", "").strip()),
    }
    return render(request, "directory/_org_options.html", context)


# --- organisations ---------------------------------------------------------------------------


@page_requires(roles.CHANGE_DIRECTORY)
def org_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationCreateForm(_posted(request), initial={"parent": request.GET.get("parent")})
    if form.is_valid():
        org = form.run(services.organization_create, request.user, **form.cleaned_data)
        if org is not None:
            messages.success(request, _("Organisation “%(name)s” created.") % {"name": org.name})
            return redirect("directory:org_detail", pk=org.pk)
    return _form_page(request, "directory/org_form.html", {"org": None}, form)


def org_detail(request: HttpRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(Organization.objects.select_related("parent"), pk=pk)
    direct, subtree = queries.member_counts(org)
    context = {
        "org": org,
        "ancestors": queries.ancestors(org),
        "children": queries.org_children(org),
        "members": _page(request, queries.org_members(org)),
        "direct_members": direct,
        "subtree_members": subtree,
        "dingtalk": sync_queries.organization_dingtalk(org),
    }
    return render(request, "directory/org_detail.html", context)


@page_requires(roles.CHANGE_DIRECTORY)
def org_edit(request: HttpRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(Organization.objects.select_related("parent"), pk=pk)
    initial = {"name": org.name, "code": org.code, "order": org.order}
    form = OrganizationForm(_posted(request), initial=initial)
    if form.is_valid() and form.run(
        services.organization_update, request.user, copy(org), **form.cleaned_data
    ):
        messages.success(request, _("Organisation “%(name)s” saved.") % {"name": org.name})
        return redirect("directory:org_detail", pk=org.pk)
    return _form_page(request, "directory/org_form.html", {"org": org}, form)


@page_requires(roles.CHANGE_DIRECTORY)
def org_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose the new parent; a move that removes something from DingTalk (out of a scope)
    shows what first and needs a second confirmation."""
    org = get_object_or_404(Organization, pk=pk)
    form = OrganizationMoveForm(_posted(request))
    context: dict[str, Any] = {"org": org, "ancestors": queries.ancestors(org)}
    if form.is_valid():
        parent = form.cleaned_data["parent"]
        if request.POST.get("confirm") != "1":
            preview = _consequences(
                lambda: services.organization_move(request.user, copy(org), parent)
            )
            context.update(preview, confirming=preview["removes"])
        if not context.get("confirming") and form.run(
            services.organization_move, request.user, org, parent
        ):
            messages.success(request, _("Organisation “%(name)s” moved.") % {"name": org.name})
            return redirect("directory:org_detail", pk=org.pk)
    return _form_page(request, "directory/org_move.html", context, form)


@page_requires(roles.CHANGE_DIRECTORY)
def org_delete(request: HttpRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(Organization.objects.select_related("parent"), pk=pk)
    if request.method != "POST":
        context = {"org": org, "direct_members": queries.member_counts(org)[0]}
        context.update(_consequences(lambda: services.organization_delete(request.user, copy(org))))
        return render(request, "directory/org_confirm_delete.html", context)
    try:
        members = services.organization_delete(request.user, org)
    except services.DirectoryError as exc:
        messages.error(request, str(exc))
        return redirect("directory:org_detail", pk=pk)
    messages.success(
        request,
        _("Organisation “%(name)s” deleted; %(n)d member(s) lost this membership.")
        % {"name": org.name, "n": members},
    )
    if org.parent_id:
        return redirect("directory:org_detail", pk=org.parent_id)
    return redirect("directory:org_tree")


# --- accounts --------------------------------------------------------------------------------


def account_list(request: HttpRequest) -> HttpResponse:
    """Accounts, searched and filtered, 50 a page."""
    filters = AccountFilterForm(request.GET)
    page = _page(request, queries.account_list(**filters.filters()))
    return render(request, "directory/account_list.html", {"filters": filters, "page": page})


@page_requires(roles.CHANGE_DIRECTORY)
def account_create(request: HttpRequest) -> HttpResponse:
    form = AccountCreateForm(_posted(request))
    if form.is_valid():
        account = form.run(services.account_create, request.user, **form.create_kwargs())
        if account is not None:
            messages.success(request, _("Account “%(a)s” created.") % {"a": account.username})
            return redirect("directory:account_detail", pk=account.pk)
    return _form_page(request, "directory/account_form.html", {"account": None}, form)


def _account_page(
    request: HttpRequest, account: Account, add_form: MembershipAddForm
) -> HttpResponse:
    context = {
        "account": account,
        "memberships": queries.account_memberships(account),
        "dingtalk": sync_queries.account_dingtalk(account),
    }
    return _form_page(request, "directory/account_detail.html", context, add_form)


def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An account's attributes, its side in each provider's DingTalk, its memberships."""
    account = get_object_or_404(Account, pk=pk)
    return _account_page(request, account, MembershipAddForm())


@page_requires(roles.CHANGE_DIRECTORY)
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = AccountForm(_posted(request), account=account)
    if form.is_valid() and form.run(
        services.account_update, request.user, copy(account), **form.account_fields()
    ):
        messages.success(request, _("Account “%(a)s” saved.") % {"a": account.username})
        return redirect("directory:account_detail", pk=account.pk)
    return _form_page(request, "directory/account_form.html", {"account": account}, form)


def _set_status(request: HttpRequest, pk: int, status: str, message: str) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    services.account_set_status(request.user, account, status)
    messages.success(request, message % {"a": account.username})
    return redirect("directory:account_detail", pk=pk)


@page_requires(roles.CHANGE_DIRECTORY)
def account_disable(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, seeing what leaves DingTalk, then disable."""
    if request.method == "POST":
        return _set_status(request, pk, Account.Status.DISABLED, _("Account “%(a)s” disabled."))
    account = get_object_or_404(Account, pk=pk)
    context = {"account": account}
    context.update(
        _consequences(
            lambda: services.account_set_status(
                request.user, copy(account), Account.Status.DISABLED
            )
        )
    )
    return render(request, "directory/account_confirm_disable.html", context)


@require_POST
def account_enable(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_status(request, pk, Account.Status.ACTIVE, _("Account “%(a)s” enabled."))


@page_requires(roles.CHANGE_DIRECTORY)
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    if request.method != "POST":
        memberships = account.memberships.count()
        context = {"account": account, "memberships": memberships}
        context.update(_consequences(lambda: services.account_delete(request.user, copy(account))))
        return render(request, "directory/account_confirm_delete.html", context)
    services.account_delete(request.user, account)
    messages.success(request, _("Account “%(a)s” deleted.") % {"a": account.username})
    return redirect("directory:account_list")


# --- memberships -----------------------------------------------------------------------------


@require_POST
def membership_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=pk)
    form = MembershipAddForm(request.POST)
    if form.is_valid():
        org, primary, order = (form.cleaned_data[k] for k in ("organization", "primary", "order"))
        if form.run(
            services.membership_add, request.user, account, org, primary=primary, order=order
        ):
            messages.success(request, _("Added to “%(org)s”.") % {"org": org.name})
            return redirect("directory:account_detail", pk=pk)
    return _account_page(request, account, form)


def _membership(pk: int) -> Membership:
    queryset = Membership.objects.select_related("organization", "account")
    return get_object_or_404(queryset, pk=pk)


@require_POST
def membership_set_primary(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership(pk)
    services.membership_set_primary(request.user, membership)
    messages.success(
        request, _("“%(org)s” is now the primary organisation.") % {"org": membership.organization}
    )
    return redirect("directory:account_detail", pk=membership.account_id)


@page_requires(roles.CHANGE_DIRECTORY)
def membership_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, seeing what the removal does in DingTalk, then remove."""
    membership = _membership(pk)
    if request.method != "POST":
        context = {"membership": membership, "account": membership.account}
        context.update(
            _consequences(lambda: services.membership_remove(request.user, _membership(pk)))
        )
        return render(request, "directory/membership_confirm_remove.html", context)
    services.membership_remove(request.user, membership)
    messages.success(request, _("Removed from “%(org)s”.") % {"org": membership.organization})
    return redirect("directory:account_detail", pk=membership.account_id)
