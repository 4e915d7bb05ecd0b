"""/healthz for load balancers, /metrics for Prometheus."""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dtconsole.access import roles

from . import health
from .metrics import registry


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Each part "ok" or the reason it is not; 200 when all are ok, 503 otherwise."""
    report = health.check()
    ok = all(state == health.OK for state in report.values())
    return JsonResponse(report, status=200 if ok else 503)


@login_not_required
@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for METRICS_TOKEN, METRICS_ALLOWED_IPS or a console user."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the caller may read the metrics; otherwise a 401 or 403 with no data."""
    sent = _bearer(request)
    token = settings.METRICS_TOKEN
    if sent is not None and token and hmac.compare_digest(sent.encode(), token.encode()):
        return None
    if _address_allowed(request.META.get("REMOTE_ADDR", "")):
        return None
    if request.user.is_authenticated and request.user.has_perm(roles.VIEW):
        return None
    if sent is not None:
        return HttpResponse(
            _("This token does not give access to the metrics."),
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(
        _(
            "The metrics need a token (Authorization: Bearer, METRICS_TOKEN), an address in "
            "METRICS_ALLOWED_IPS or a console login."
        ),
        status=401,
        content_type="text/plain; charset=utf-8",
    )
    response["WWW-Authenticate"] = 'Bearer realm="dtconsole metrics"'
    return response


def _bearer(request: HttpRequest) -> str | None:
    """The bearer token sent, or None when the request sends none."""
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return any(ip in network for network in settings.METRICS_ALLOWED_NETWORKS)
