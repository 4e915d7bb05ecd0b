"""The default field mapping of a new DingTalk provider (wizard step 4).

Pure data: the wizard saves these rows as the provider's first FieldMapping entities, and
the sync engine can fall back on them. Display names are stored as user-editable data.
"""

from __future__ import annotations

from .engine import Rule
from .messages import N_

__all__ = ["DEFAULT_MATCH_KEYS", "DEFAULT_RULES"]

# Display names are marked for the catalogue (``make messages --keyword=N_``): each is stored
# in English, and pages show it translated while it is unchanged.

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(target="name", source_kind="attribute", source="display_name", display_name=N_("Name")),
    Rule(target="mobile", source_kind="attribute", source="mobile", display_name=N_("Mobile")),
    Rule(target="email", source_kind="attribute", source="email", display_name=N_("Email")),
    Rule(target="title", source_kind="attribute", source="title", display_name=N_("Position")),
    Rule(
        target="job_number",
        source_kind="attribute",
        source="job_number",
        display_name=N_("Employee ID"),
    ),
    # The DingTalk userid is the account's username, so that logging on to DingTalk with a
    # directory account finds the same person (the seed's "Important" note). DingTalk userids
    # are immutable, hence create_only: on update the userid comes from the user link instead.
    Rule(
        target="userid",
        source_kind="attribute",
        source="username",
        apply="create_only",
        display_name=N_("UserID"),
    ),
)

#: The mapping identity: how an unlinked account is matched to an existing DingTalk user,
#: tried in this order (userid first, as it is immutable; then the unique contact fields).
DEFAULT_MATCH_KEYS: tuple[str, ...] = ("userid", "mobile", "email", "job_number")
