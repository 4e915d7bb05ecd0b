"""The Users page (administrators) and the no-access page.

Thin views: the form, one service call, a redirect with a message. The services check the
permission; a refusal becomes Django's 403 page, which names the role needed.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import roles, services
from .forms import RoleForm, UserCreateForm
from .middleware import no_access_response


def no_access(request: HttpRequest) -> HttpResponse:
    """Where a user without a role lands: who to ask. Someone with a role goes home."""
    if request.user.has_perm(roles.VIEW):
        return redirect("home")
    return no_access_response(request, status=200)


def user_list(request: HttpRequest) -> HttpResponse:
    """Every console user with their role; administrators change roles here."""
    services.require(request.user, roles.MANAGE_USERS)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.user_create(request.user, data["username"], data["password"], form.chosen())
        messages.success(request, _("Console user “%(u)s” created.") % {"u": user.username})
        return redirect("access:user_list")
    users = get_user_model().objects.order_by("username").prefetch_related("groups")
    rows = [(u, roles.held_role(u)) for u in users]
    context = {"rows": rows, "form": form, "role_choices": RoleForm().fields["role"].choices}
    return render(request, "access/user_list.html", context, status=400 if form.errors else 200)


@require_POST
def user_set_role(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles listed."))
        return redirect("access:user_list")
    try:
        services.user_set_role(request.user, user, form.chosen())
    except services.RoleError as exc:
        messages.error(request, str(exc))
    else:
        label = form.chosen().label if form.chosen() else _("no role")
        messages.success(
            request, _("%(u)s now has the role: %(r)s.") % {"u": user.username, "r": label}
        )
    return redirect("access:user_list")


@require_POST
def user_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.user_set_active(request.user, user, active)
    except services.RoleError as exc:
        messages.error(request, str(exc))
    else:
        done = _("%(u)s can log in again.") if active else _("%(u)s can no longer log in.")
        messages.success(request, done % {"u": user.username})
    return redirect("access:user_list")
