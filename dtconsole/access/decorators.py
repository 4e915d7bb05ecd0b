"""Page gates: a page whose only purpose is a change is shown only to whoever may make it.

The rule itself stays in the services (``require``), which check again on every write; the
gate spares a Viewer a form they cannot submit, and answers with the same 403 page.
"""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from .services import require


def page_requires(permission: str) -> Callable:
    """Decorate a form view: every request to it needs ``permission``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def gated(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            require(request.user, permission)
            return view(request, *args, **kwargs)

        gated.required_permission = permission  # read by the permission-matrix test
        return gated

    return decorator
