"""English texts of the DingTalk connector that the pages translate where they show them.

``connectors`` is plain Python without Django, so it has no gettext: a permission's purpose
and the fix hint of a DingTalk error reach the console in English (a hint is also stored on
its sync event as it was). Listing the fixed ones here puts them in the catalogue, and
``translate`` looks a text up when a page shows it. Hints built around a value (an IP address)
are not listed and stay English. tests/test_translations.py fails when the connector has a
fixed text that this list lacks.
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

#: connectors/dingtalk/errors.py: the fixed fix hints of DingTalk errors.
HINTS = (
    N_("Check the AppKey and AppSecret copied from the DingTalk developer console."),
    N_(
        "Grant the missing permissions to the app in the DingTalk developer console "
        "(Permission management), then verify again."
    ),
    N_("Add this server's egress IP to the app's allow-list (服务器出口IP)."),
    N_("Widen the app's address-book scope (通讯录权限范围) to include this department."),
    N_("Lower the provider's QPS budget or sync outside the top of the hour."),
    N_("DingTalk or the network failed temporarily; the call will be retried."),
    N_("The AppKey or AppSecret is wrong: copy both again from the developer console."),
    N_("The parent department does not exist in DingTalk."),
    N_("Move or delete the department's members first."),
    N_("Delete the sub-departments first."),
    N_("The root department (id 1) cannot be deleted."),
    N_("The root department (id 1) cannot be updated."),
    N_("The move would create a cycle in the department tree."),
    N_("Department names are 1-64 characters."),
    N_("Department names cannot contain '-', ',' or '，'."),
    N_("The mobile number is invalid (use +xx-xxxxxx outside mainland China)."),
    N_("The email address is invalid."),
    N_("The user's name is invalid (1-80 characters)."),
    N_("Unknown API path: check the oapi base URL."),
    N_("Unknown API path: check the API base URLs."),
    N_("The organisation's monthly API quota is used up."),
    N_("The AppKey or AppSecret is wrong: copy both again."),
    N_("Wait for the IP ban to end; lower the call rate."),
    N_("Check the DingTalk API base URLs."),
    N_("The login code is invalid or was already used; sign in again."),
)


def translate(text: str) -> str:
    """``text`` in the active language when the catalogue has it, else ``text`` unchanged."""
    # gettext("") would answer the catalogue's header.
    return gettext(text) if text else text
