"""Directory pages (placeholder; the pages are being written)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def org_tree(request: HttpRequest) -> HttpResponse:
    return render(request, "partials/empty_page.html", {"heading": "Organisations"})
