"""Stored mobiles against the normal form: what migration 0005 normalises and what
``manage.py check_mobiles`` reports.

Pure functions over (id, username, mobile) rows, so the migration (historical models) and the
command (current models) share one rule. Every value that can safely take its normal form
gets it; a value that cannot is left exactly as stored and reported:

- a value ``normalize_mobile`` refuses (``+0-1234``, ``12800138000``);
- a value whose normal form another account holds or gets (``+86-13950052493`` next to
  ``13950052493``). The account that already holds the normal form keeps it; otherwise the
  oldest account (lowest id) gets it. The others keep their stored value, so nothing is lost
  and their next sync behaves as before, until an admin gives them their own number (editing
  such an account refuses to save until its mobile is fixed).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .validators import normalize_mobile


@dataclass(frozen=True)
class MobileProblem:
    """A stored mobile that stays as it is and needs an admin."""

    account_id: int
    username: str
    mobile: str
    reason: str


@dataclass
class MobileReview:
    """What to write (account id -> normal form) and what to report."""

    changes: dict[int, str] = field(default_factory=dict)
    problems: list[MobileProblem] = field(default_factory=list)


def review_mobiles(rows: Iterable[tuple[int, str, str]]) -> MobileReview:
    """Check (id, username, mobile) rows; the result's changes are safe to write together."""
    review = MobileReview()
    groups: dict[str, list[tuple[int, str, str]]] = {}
    for account_id, username, mobile in sorted(rows):
        if not mobile:
            continue
        try:
            normal = normalize_mobile(mobile)
        except ValidationError as exc:
            review.problems.append(MobileProblem(account_id, username, mobile, exc.messages[0]))
            continue
        groups.setdefault(normal, []).append((account_id, username, mobile))
    for normal, group in groups.items():
        # The unique constraint allows at most one row that already holds the normal form.
        keeper = next((row for row in group if row[2] == normal), group[0])
        if keeper[2] != normal:
            review.changes[keeper[0]] = normal
        for account_id, username, mobile in group:
            if account_id != keeper[0]:
                reason = _("The same number as the account “%(holder)s” (%(normal)s).") % {
                    "holder": keeper[1],
                    "normal": normal,
                }
                review.problems.append(MobileProblem(account_id, username, mobile, reason))
    review.problems.sort(key=lambda problem: problem.account_id)
    return review
