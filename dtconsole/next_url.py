"""The page to return to after a form: a ``next`` address, only when it is the console's own."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_url(request: HttpRequest, url: str) -> str:
    """``url`` when it points into this console (same host, no scheme change), else ""."""
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and allowed else ""


def next_url(request: HttpRequest, default: str) -> str:
    """The console page named by ``next`` (posted, or in the query), else ``default``."""
    return safe_url(request, request.POST.get("next") or request.GET.get("next") or "") or default
