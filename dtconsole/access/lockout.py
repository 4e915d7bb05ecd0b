"""The answer django-axes gives a username locked out after too many failed logins."""

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The login page saying the login is refused, for how long, and what to do (429)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "username": username,
        "failures": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "registration/locked_out.html", context, status=429)


__all__ = ["lockout_response"]
