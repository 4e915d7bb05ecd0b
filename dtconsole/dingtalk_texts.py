"""English texts of the DingTalk connector that the pages translate where they show them.

``connectors`` is plain Python without Django, so it has no gettext: a permission's purpose
and the fix hint of a DingTalk error reach the console in English. The connector marks its
hints with its own ``N_`` (extracted by ``make messages``); the permission purposes are
listed here. ``translate`` looks a text up when a page shows it; tests/test_translations.py
fails when a connector text is missing from the catalogue.
"""

from django.utils.translation import gettext, gettext_noop

N_ = gettext_noop

#: connectors/dingtalk/scopes.py: what each DingTalk permission is used for.
PERMISSION_PURPOSES = (
    N_("get an access token and read the address-book scope"),
    N_("read the target department and its sub-departments"),
    N_("read users and map a DingTalk login to an account"),
    N_("list the members of each department"),
    N_("create, update and delete departments and users"),
    N_("match existing DingTalk users by mobile"),
    N_("DingTalk QR code logon only"),
)


def translate(text: str) -> str:
    """``text`` in the active language when the catalogue has it, else ``text`` unchanged."""
    # gettext("") would answer the catalogue's header.
    return gettext(text) if text else text
