"""``manage.py seed_directory``: fill an empty directory with deterministic demo data."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from dtconsole.directory.models import Account, Organization
from dtconsole.directory.seeding import directory_is_empty, seed_directory
from dtconsole.directory.services import DirectoryError


class Command(BaseCommand):
    help = (
        "Create a realistic demo directory: an organisation tree at least four levels deep and "
        "accounts with memberships. The same --orgs, --accounts and --seed give the same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orgs", type=int, default=60, help="Organisations (default 60).")
        parser.add_argument("--accounts", type=int, default=500, help="Accounts (default 500).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the directory already has accounts or organisations.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and not directory_is_empty():
            self.stdout.write(
                _(
                    "Directory not empty (%(accounts)d accounts, %(orgs)d organisations): "
                    "nothing seeded."
                )
                % {"accounts": Account.objects.count(), "orgs": Organization.objects.count()}
            )
            return
        try:
            result = seed_directory(
                orgs=options["orgs"], accounts=options["accounts"], seed=options["seed"]
            )
        except DirectoryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Seeded %(orgs)d organisations (%(levels)d levels), %(accounts)d accounts "
                    "and %(members)d memberships in %(seconds).1f s (seed %(seed)d)."
                )
                % {
                    "orgs": result.organizations,
                    "levels": result.depth + 1,
                    "accounts": result.accounts,
                    "members": result.memberships,
                    "seconds": result.seconds,
                    "seed": options["seed"],
                }
            )
        )
