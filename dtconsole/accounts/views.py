"""Console entry pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def home(request: HttpRequest) -> HttpResponse:
    """The console opens on the directory."""
    return redirect("directory:org_tree")
