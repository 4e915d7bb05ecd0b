"""Give a console user a role from a shell: ``manage.py grant_role USERNAME ROLE``."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dtconsole.access import roles
from dtconsole.access.services import SYSTEM, RoleError, user_set_role

NONE = "none"


class Command(BaseCommand):
    help = "Give a console user a role: viewer, operator, administrator, or none (no access)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=[*roles.BY_KEY, NONE])

    def handle(self, *args, username: str, role: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(
                f"No console user is called {username!r}. Create one first, e.g. "
                f"`manage.py createsuperuser` or the Users page."
            )
        try:
            user_set_role(SYSTEM, user, None if role == NONE else roles.BY_KEY[role])
        except RoleError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{username} now has the role {role}."))
