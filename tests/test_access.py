"""Roles: every state-changing service refuses whoever lacks its permission; the Users page,
grant_role, and the rules that keep an administrator in charge."""

import inspect

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from dtconsole.access import roles
from dtconsole.access import services as access
from dtconsole.access.services import SYSTEM, AccessDenied
from dtconsole.audit.models import AuditEntry
from dtconsole.directory import imports, upsert
from dtconsole.directory import services as directory
from dtconsole.notifications import services as notifications
from dtconsole.providers import services as providers
from dtconsole.sync import services as sync
from tests.factories import make_account, make_org, make_user

pytestmark = pytest.mark.django_db

MODULES = {
    "directory": directory,
    "providers": providers,
    "sync": sync,
    "access": access,
    "imports": imports,
    "upsert": upsert,
    "notifications": notifications,
}

# The lowest role each service is for, written from the product's roles.
SERVICES = {
    "directory.organization_create": "administrator",
    "directory.organization_update": "administrator",
    "directory.organization_move": "administrator",
    "directory.organization_delete": "administrator",
    "directory.account_create": "administrator",
    "directory.account_update": "administrator",
    "directory.account_set_status": "administrator",
    "directory.account_delete": "administrator",
    "directory.membership_add": "administrator",
    "directory.membership_remove": "administrator",
    "directory.membership_set_primary": "administrator",
    "imports.import_upload": "administrator",
    "imports.import_commit": "administrator",
    "upsert.upsert": "administrator",
    "providers.provider_create": "administrator",
    "providers.provider_update_application": "administrator",
    "providers.provider_verify": "administrator",
    "providers.department_name": "administrator",
    "providers.provider_set_scenario": "administrator",
    "providers.provider_update_settings": "administrator",
    "providers.provider_update": "administrator",
    "providers.provider_save_mappings": "administrator",
    "providers.provider_delete": "administrator",
    "sync.sync_job_enqueue": "operator",
    "sync.sync_object_enqueue": "operator",
    "sync.sync_job_approve": "operator",
    "sync.sync_job_reject": "operator",
    "sync.sync_job_cancel": "operator",
    "sync.dingtalk_snapshot": "viewer",
    "sync.sync_link_user": "administrator",
    "access.user_create": "administrator",
    "access.user_set_role": "administrator",
    "access.user_set_active": "administrator",
    "notifications.notification_settings_update": "administrator",
    "notifications.notification_check_delivery": "administrator",
}
ORDER = [None, "viewer", "operator", "administrator"]


def actor_services() -> dict[str, object]:
    """Every public function of the service modules whose first parameter is the actor."""
    found = {}
    for short, module in MODULES.items():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != module.__name__:
                continue
            if name in ("require", "can"):  # the check itself
                continue
            params = list(inspect.signature(fn).parameters)
            if params and params[0] == "actor":
                found[f"{short}.{name}"] = fn
    return found


def call_with(fn, actor):
    """Call ``fn`` as ``actor`` with None for everything else: the check must come first."""
    args, kwargs = [], {}
    for param in list(inspect.signature(fn).parameters.values())[1:]:
        if param.default is not param.empty or param.kind is param.VAR_KEYWORD:
            continue
        if param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = None
        elif param.kind is not param.VAR_POSITIONAL:
            args.append(None)
    return fn(actor, *args, **kwargs)


def test_every_service_that_takes_an_actor_is_in_the_table():
    assert set(actor_services()) == set(SERVICES)


BELOW = [
    (name, role)
    for name, lowest in sorted(SERVICES.items())
    for role in ORDER[: ORDER.index(lowest)]
]


@pytest.mark.parametrize(("name", "role"), BELOW, ids=[f"{n}-{r or 'no-role'}" for n, r in BELOW])
def test_each_service_refuses_every_role_below_its_own_before_doing_anything(name, role):
    fn = actor_services()[name]
    actor = make_user("someone", role)
    with pytest.raises(AccessDenied) as refusal:
        call_with(fn, actor)
    assert refusal.value.role.key == SERVICES[name]
    assert AuditEntry.objects.count() == 0


def test_a_refusal_names_the_role_needed_the_current_role_and_whom_to_ask(admin_user):
    viewer = make_user("vera", "viewer")
    with pytest.raises(AccessDenied) as refusal:
        directory.organization_create(viewer, name="X")
    text = str(refusal.value)
    assert "Administrator role" in text and "Your role is Viewer" in text and "admin" in text


def test_an_inactive_user_is_refused_even_with_a_role():
    user = make_user("gone", "administrator", is_active=False)
    with pytest.raises(AccessDenied):
        directory.organization_create(user, name="X")


def test_the_system_actor_may_do_everything_and_is_audited_as_system():
    org = directory.organization_create(SYSTEM, name="Company")
    entry = AuditEntry.objects.get(action="organization.create")
    assert entry.actor is None and entry.actor_name == "system"
    assert entry.after["name"] == org.name


def test_superusers_are_administrators(admin_user):
    assert roles.role_of(admin_user) is roles.ADMINISTRATOR
    directory.organization_create(admin_user, name="Company")


def test_an_operator_starts_syncs_but_cannot_change_the_directory():
    operator = make_user("otto", "operator")
    account = make_account("ann", orgs=[make_org()])
    with pytest.raises(AccessDenied):
        directory.account_set_status(operator, account, "disabled")
    assert access.can(operator, roles.RUN_SYNC) and not access.can(operator, roles.MANAGE_USERS)


# --- the Users page and grant_role -----------------------------------------------------------


def test_grant_role_gives_a_user_a_role_and_none_takes_it_away():
    user = make_user("vera")
    call_command("grant_role", "vera", "operator")
    assert roles.role_of(type(user).objects.get(pk=user.pk)) is roles.OPERATOR
    call_command("grant_role", "vera", "none")
    assert roles.role_of(type(user).objects.get(pk=user.pk)) is None
    entry = AuditEntry.objects.filter(action="user.set_role").latest("id")
    assert entry.before == {"role": "operator"} and entry.after == {"role": ""}


def test_grant_role_names_an_unknown_user():
    with pytest.raises(CommandError, match="No console user is called 'nobody'"):
        call_command("grant_role", "nobody", "viewer")


def test_an_administrator_assigns_a_role_on_the_users_page(client):
    boss = make_user("boss", "administrator")
    vera = make_user("vera")
    client.force_login(boss)
    page = client.get(reverse("access:user_list"))
    assert page.status_code == 200 and "vera" in page.content.decode()
    response = client.post(reverse("access:user_set_role", args=[vera.pk]), {"role": "viewer"})
    assert response.status_code == 302
    assert roles.role_of(type(vera).objects.get(pk=vera.pk)) is roles.VIEWER


def test_an_administrator_creates_a_console_user_with_a_role(client):
    client.force_login(make_user("boss", "administrator"))
    data = {"username": "lina", "password": "a-long-enough-pass-2026", "role": "operator"}
    response = client.post(reverse("access:user_list"), data)
    assert response.status_code == 302
    lina = type(make_user("x")).objects.get(username="lina")
    assert roles.role_of(lina) is roles.OPERATOR and lina.check_password(data["password"])


def test_a_weak_initial_password_is_refused_on_its_field(client):
    client.force_login(make_user("boss", "administrator"))
    response = client.post(
        reverse("access:user_list"), {"username": "lina", "password": "123", "role": ""}
    )
    assert response.status_code == 400
    assert "password" in response.context["form"].errors


def test_the_system_actors_name_is_not_a_username_for_a_console_user(client):
    client.force_login(make_user("boss", "administrator"))
    data = {"username": "System", "password": "a-long-enough-pass-2026", "role": ""}
    response = client.post(reverse("access:user_list"), data)
    assert response.status_code == 400
    assert "audit log" in str(response.context["form"].errors["username"])
    assert not type(make_user("x")).objects.filter(username__iexact="system").exists()


def test_the_last_administrator_cannot_be_demoted_or_deactivated():
    boss = make_user("boss", "administrator")
    with pytest.raises(access.RoleError, match="last active administrator"):
        access.user_set_role(SYSTEM, boss, roles.VIEWER)
    with pytest.raises(access.RoleError, match="last active administrator"):
        access.user_set_active(SYSTEM, boss, False)
    make_user("second", "administrator")
    access.user_set_role(SYSTEM, boss, roles.VIEWER)


def test_an_administrator_cannot_deactivate_themself():
    boss = make_user("boss", "administrator")
    make_user("second", "administrator")
    with pytest.raises(access.RoleError, match="cannot deactivate yourself"):
        access.user_set_active(boss, boss, False)


def test_a_deactivated_user_can_no_longer_log_in_and_keeps_the_role_for_later(client):
    make_user("boss", "administrator")
    vera = make_user("vera", "viewer")
    access.user_set_active(SYSTEM, vera, False)
    credentials = {"username": "vera", "password": "correct-horse-battery-staple"}
    assert client.post(reverse("login"), credentials).status_code == 200  # the form again
    access.user_set_active(SYSTEM, vera, True)
    assert client.post(reverse("login"), credentials).status_code == 302
    assert roles.role_of(type(vera).objects.get(pk=vera.pk)) is roles.VIEWER


def test_a_superusers_role_cannot_be_changed_here(admin_user):
    with pytest.raises(access.RoleError, match="superuser"):
        access.user_set_role(SYSTEM, admin_user, roles.VIEWER)


def test_a_user_without_a_role_sees_the_no_access_page_with_whom_to_ask(client, admin_user):
    make_org("Secret Company")
    client.force_login(make_user("nobody"))
    for name in ("home", "directory:org_tree", "providers:list", "audit:list"):
        page = client.get(reverse(name), follow=True)
        text = page.content.decode()
        assert page.status_code == 403 and "no access to this console" in text
        assert "Secret Company" not in text and "admin" in text
    chinese = client.get(reverse("home"), headers={"Accept-Language": "zh-CN"}).content.decode()
    assert "页面为你分配角色：<strong>admin</strong>。" in chinese


def test_every_console_page_carries_a_strict_content_security_policy(client):
    header = client.get(reverse("login")).headers["Content-Security-Policy"]
    assert "script-src 'self'" in header and "style-src 'self'" in header
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
