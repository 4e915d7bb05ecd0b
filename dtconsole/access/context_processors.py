"""The logged-in user's role, for the header."""

from django.http import HttpRequest

from .roles import role_of


def console_role(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {"console_role": role_of(user) if user is not None else None}
