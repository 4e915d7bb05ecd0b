"""Create the demo console administrator with a generated password, printed once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser with a random password and print it once. Does nothing when the "
        "user already exists (reset its password with `manage.py changepassword`)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        users = get_user_model()
        if users.objects.filter(username=username).exists():
            self.stdout.write(
                f"Console user '{username}' exists; its password was printed when it was "
                f"created. Forgot it? .venv/bin/python manage.py changepassword {username}"
            )
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                "Created the console administrator (this password is shown only now):\n"
                f"    username: {username}\n    password: {password}"
            )
        )
