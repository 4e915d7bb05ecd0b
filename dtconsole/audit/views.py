"""Audit log page: every change an admin made, newest first, filtered by actor, action and
object, with before → after as readable values."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import presenters, queries
from .forms import AuditFilterForm

PER_PAGE = 50


@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """Who changed what, when, before → after (secrets masked), 50 a page."""
    filters = AuditFilterForm(request.GET)
    page = Paginator(queries.audit_entries(filters.filters()), PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"filters": filters, "page": page, "rows": presenters.audit_rows(page)}
    return render(request, "audit/list.html", context)
