"""A logged-in user without a role sees the "no access" page and nothing else."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import roles
from .services import administrator_names

# Views a user without a role may still reach: leaving, logging in (with DingTalk too), the
# language switch, the health check (it answers everyone alike), and the API's JSON
# endpoints, which answer for themselves (DRF's permission class turns the same rule into a
# JSON 403). The API docs page is a page like any other.
OPEN_URL_NAMES = {
    "login",
    "logout",
    "set_language",
    "no_access",
    "dingtalk_start",
    "dingtalk_callback",
    "healthz",
    "favicon",
}
OPEN_NAMESPACES = {"api"}
CLOSED_IN_OPEN_NAMESPACES = {"docs"}


class RoleRequiredMiddleware:
    """Answers every page of a user with no role with the no-access page (403)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.has_perm(roles.VIEW):
            return None
        match = request.resolver_match
        if match is None or match.url_name in OPEN_URL_NAMES:
            return None
        if (
            OPEN_NAMESPACES & set(match.namespaces)
            and match.url_name not in CLOSED_IN_OPEN_NAMESPACES
        ):
            return None
        return no_access_response(request)


def no_access_response(request: HttpRequest, status: int = 403) -> HttpResponse:
    context = {"administrators": administrator_names(), "roles": roles.ROLES}
    return render(request, "access/no_access.html", context, status=status)
