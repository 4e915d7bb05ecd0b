"""Audit log page: configuration changes, newest first, filtered by action and object type."""

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from .models import AuditEntry

PER_PAGE = 50


def _choices(column: str, empty: Any) -> list[tuple[str, Any]]:
    """The values recorded in ``column`` (an indexed, short list) as select options."""
    values = AuditEntry.objects.order_by(column).values_list(column, flat=True).distinct()
    return [("", empty), *((v, v) for v in values)]


class AuditFilterForm(forms.Form):
    """Filters of the audit log; the options are the actions and object types on record."""

    action = forms.ChoiceField(label=_("Action"), required=False)
    object_type = forms.ChoiceField(label=_("Object type"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = _choices("action", _("Any action"))
        self.fields["object_type"].choices = _choices("object_type", _("Any object type"))

    def entries(self) -> QuerySet[AuditEntry]:
        """The entries matching the valid filters, newest first."""
        self.is_valid()
        wanted = {k: v for k, v in self.cleaned_data.items() if v}
        return AuditEntry.objects.filter(**wanted).order_by("-created_at", "-id")


@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """Who changed which configuration, when, before → after (secrets masked), 50 a page."""
    filters = AuditFilterForm(request.GET)
    page = Paginator(filters.entries(), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"filters": filters, "page": page})
