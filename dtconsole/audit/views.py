"""Audit log page (configuration changes are recorded from the provider issue on)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def audit_list(request: HttpRequest) -> HttpResponse:
    return render(request, "audit/list.html")
