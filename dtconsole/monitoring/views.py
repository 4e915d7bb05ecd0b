"""/healthz for load balancers."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Each part "ok" or the reason it is not; 200 when all are ok, 503 otherwise."""
    report = health.check()
    ok = all(state == health.OK for state in report.values())
    return JsonResponse(report, status=200 if ok else 503)
