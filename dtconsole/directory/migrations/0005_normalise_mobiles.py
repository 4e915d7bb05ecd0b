"""Give every stored mobile its one normal form (13950052493, +852-61234567).

Before this, "+86-13950052493" and "13950052493" could belong to two accounts: the same
number to DingTalk. The rule is ``dtconsole.directory.mobiles.review_mobiles``:

- a value that normalises and whose normal form no other account holds is rewritten
  ("+86 139 5005 2493" -> "13950052493", "+852 6123 4567" -> "+852-61234567");
- when two or more accounts are the same number, the one that already holds the normal form
  keeps it (otherwise the oldest account gets it) and the others are left **exactly as
  stored**: no value is emptied and the migration never fails over data;
- a value that cannot be normalised (an unknown country code, a range not in use) is left as
  stored too.

Nothing is lost, but the accounts left as they were need an admin. After migrating, run

    python manage.py check_mobiles

which lists each of them with the reason (and exits non-zero while any remain); the
migration also prints how many there are. Editing such an account refuses to save until its
mobile is corrected. Reversing this migration changes nothing (the normal forms were
accepted before too).
"""

from django.db import migrations
from django.utils.translation import gettext as _

from dtconsole.directory.mobiles import review_mobiles

BATCH = 500


def normalise_mobiles(apps, schema_editor) -> None:
    Account = apps.get_model("directory", "Account")
    rows = Account.objects.exclude(mobile="").values_list("id", "username", "mobile")
    review = review_mobiles(rows)
    updates = [Account(pk=pk, mobile=mobile) for pk, mobile in review.changes.items()]
    Account.objects.bulk_update(updates, ["mobile"], batch_size=BATCH)
    if review.problems:
        message = _(
            "%(changed)d mobile(s) normalised; %(kept)d account(s) kept their mobile as stored "
            "(a duplicate or not a valid mobile): run `manage.py check_mobiles` to list them."
        )
        counts = {"changed": len(review.changes), "kept": len(review.problems)}
        print("\n  " + message % counts)


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0004_account_mobile_field"),
    ]

    operations = [
        migrations.RunPython(normalise_mobiles, migrations.RunPython.noop, elidable=True),
    ]
