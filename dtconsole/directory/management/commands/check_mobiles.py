"""``manage.py check_mobiles``: accounts whose stored mobile is not in the normal form.

Lists each account that migration 0005 left as it was (a number another account also holds
in another spelling, or a value that is not a valid mobile) and any value written around the
services since. Changes nothing; exits non-zero while any account is listed, so a deploy
script can stop on it.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dtconsole.directory.mobiles import review_mobiles
from dtconsole.directory.models import Account


class Command(BaseCommand):
    help = gettext_lazy(
        "List accounts whose mobile is not in the one normal form (13950052493, "
        "+852-61234567): duplicates of another account's number and invalid values."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = list(Account.objects.exclude(mobile="").values_list("id", "username", "mobile"))
        review = review_mobiles(rows)
        stored = {pk: (username, mobile) for pk, username, mobile in rows}
        lines = [
            (*stored[pk], _("Not in the normal form, which is %(normal)s.") % {"normal": normal})
            for pk, normal in review.changes.items()
        ]
        lines += [(p.username, p.mobile, p.reason) for p in review.problems]
        if not lines:
            self.stdout.write(self.style.SUCCESS(_("Every mobile is in the normal form.")))
            return
        for username, mobile, reason in sorted(lines):
            self.stdout.write(f"{username}\t{mobile}\t{reason}")
        raise CommandError(
            _(
                "%(n)d account(s) listed. Edit each in the console: give a duplicate its own "
                "number, correct an invalid one (saving stores the normal form), then run this "
                "again."
            )
            % {"n": len(lines)}
        )
