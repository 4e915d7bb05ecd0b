"""Log in to the console with DingTalk (QR code logon, dingtalk-api.md §7).

The flow has two halves:

* :func:`start_login` keeps a random, single-use ``state`` in the browser's session (with the
  provider, the time and a safe ``next`` URL) and returns DingTalk's authorize URL.
* :func:`finish_login` runs when DingTalk sends the browser back with ``code`` and ``state``.
  It checks the state *before* calling DingTalk, then exchanges the code for a user token,
  asks DingTalk who signed in (unionId), maps the unionId to the organisation's userid (a
  UserLink first, DingTalk's getbyunionid otherwise), follows the UserLink to the directory
  account, and logs in that account's console user.

Who may log in: the **console user** of a directory account is the Django user whose username
equals the account's username and who is active; that user's role decides what they see (no
role: the no-access page). The account must be active and linked (by a sync) to the DingTalk
user who signed in. Anything else is refused with a :class:`LoginRefused` that says what to
do next.

Codes and tokens are never stored, logged, rendered or audited.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from connectors.dingtalk.client import DingTalkClient
from connectors.dingtalk.errors import AuthError, DingTalkError, NotFound
from dtconsole.audit.services import audit_record
from dtconsole.directory.models import Account
from dtconsole.next_url import safe_url
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.services import ProviderError, provider_client
from dtconsole.sync.models import UserLink

log = logging.getLogger(__name__)

SESSION_KEY = "dingtalk_login"
STATE_LIFETIME_SECONDS = 10 * 60
# Logins started in other tabs of the same browser stay valid, up to this many.
MAX_PENDING = 5
AUDIT_ACTION = "accounts.dingtalk_login"
BACKEND = "django.contrib.auth.backends.ModelBackend"

STATE_INVALID = _(
    "This DingTalk login was not started in this browser, or it was already completed. "
    "Start again from the login page."
)
STATE_EXPIRED = _("This DingTalk login took more than 10 minutes. Start again.")
NO_CODE = _("DingTalk sent no login code. Start again.")
PROVIDER_OFF = _(
    "DingTalk login is no longer enabled for this provider. Log in with your username and password."
)
CODE_USED = _("This login link was already used or has expired. Start again.")
NOT_IN_ORG = _("Your DingTalk account is not in this organisation.")
NOT_IN_ORG_NEXT = _(
    "Sign in with the DingTalk account of this organisation, or log in with your username "
    "and password."
)
NOT_LINKED = _(
    "Your DingTalk account is not linked to a directory account yet: "
    "ask an administrator to run a sync."
)
DISABLED = _("Your account is disabled.")
DISABLED_NEXT = _("Ask an administrator to enable your account in the directory.")
NO_CONSOLE_USER = _("You have no access to this console: ask an administrator.")
NO_CONSOLE_USER_NEXT = _(
    "An administrator gives access on the Users page by creating a console user whose "
    "username is your directory username, with a role."
)
DINGTALK_FAILED = _("DingTalk could not complete the login. Try again in a moment.")
UNAVAILABLE = _("DingTalk login is unavailable for this provider right now.")
UNAVAILABLE_NEXT = _(
    "Log in with your username and password, and tell an administrator: the provider's "
    "stored AppSecret or API endpoints need attention."
)


class LoginRefused(Exception):
    """A DingTalk login that must not go through: ``message`` says why, ``hint`` what next."""

    def __init__(self, message: Any, hint: Any = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(str(message))


@dataclass(frozen=True)
class LoginResult:
    """A finished login: who is now logged in and where the browser goes next."""

    user: AbstractBaseUser
    next_url: str


# --- the login page --------------------------------------------------------------------------


def login_providers() -> QuerySet[IdentityProvider]:
    """Bound providers that offer DingTalk QR code logon (one query, no DingTalk call)."""
    return IdentityProvider.objects.filter(
        step=IdentityProvider.Step.DONE, qr_logon_enabled=True
    ).only("id", "name")


# --- start -----------------------------------------------------------------------------------


def start_login(request: HttpRequest, provider: IdentityProvider) -> str:
    """Remember a new single-use state in the session; return DingTalk's authorize URL.

    The ``next`` query parameter is kept only when it is a safe URL on this console.
    """
    state = secrets.token_urlsafe(32)
    pending = _live_pending(request.session.get(SESSION_KEY))
    pending[state] = {
        "provider": provider.pk,
        "at": time.time(),
        "next": safe_url(request, request.GET.get("next", "")),
    }
    newest = sorted(pending.items(), key=lambda item: item[1]["at"])[-MAX_PENDING:]
    request.session[SESSION_KEY] = dict(newest)
    redirect_uri = request.build_absolute_uri(reverse("accounts:dingtalk_callback"))
    try:
        with provider_client(provider) as client:
            return client.login_url(redirect_uri=redirect_uri, state=state)
    except ProviderError as exc:
        log.warning("DingTalk login via provider %s unavailable: %s", provider.pk, exc)
        raise LoginRefused(UNAVAILABLE, UNAVAILABLE_NEXT) from None


def _live_pending(value: Any) -> dict[str, dict[str, Any]]:
    """The session's pending logins that have not expired yet."""
    if not isinstance(value, dict):
        return {}
    cutoff = time.time() - STATE_LIFETIME_SECONDS
    return {state: entry for state, entry in value.items() if entry.get("at", 0) >= cutoff}


# --- finish ----------------------------------------------------------------------------------


def finish_login(request: HttpRequest, params: Mapping[str, str]) -> LoginResult:
    """Check the callback, identify the person through DingTalk and log in their console user.

    ``params`` is the callback's query (``code`` or ``authCode``, and ``state``). The state is
    checked and consumed before any DingTalk call. Raises :class:`LoginRefused`.
    """
    pending = _take_pending(request, params.get("state", ""))
    code = params.get("code") or params.get("authCode") or ""
    if not code:
        raise LoginRefused(NO_CODE)
    provider = login_providers().filter(pk=pending["provider"]).first()
    if provider is None:
        raise LoginRefused(PROVIDER_OFF)
    userid = _dingtalk_userid(provider, code)
    account = _linked_account(provider, userid)
    user = _console_user(account)
    # login() rotates the session key (cycle_key, or flush when another user was logged in).
    login(request, user, backend=BACKEND)
    audit_record(
        user,
        AUDIT_ACTION,
        account,
        after={"provider": provider.name, "provider_id": provider.pk, "dingtalk_userid": userid},
    )
    return LoginResult(user, pending["next"] or resolve_url(settings.LOGIN_REDIRECT_URL))


def _take_pending(request: HttpRequest, state: str) -> dict[str, Any]:
    """Pop the session's pending login for ``state`` (single use); refuse forged or old ones."""
    pending = request.session.get(SESSION_KEY)
    pending = pending if isinstance(pending, dict) else {}
    entry = pending.pop(state, None) if state else None
    request.session[SESSION_KEY] = pending
    if not isinstance(entry, dict):
        raise LoginRefused(STATE_INVALID)
    if time.time() - float(entry.get("at", 0)) > STATE_LIFETIME_SECONDS:
        raise LoginRefused(STATE_EXPIRED)
    return entry


def _dingtalk_userid(provider: IdentityProvider, code: str) -> str:
    """Exchange the code, ask who signed in, and return their userid in the organisation."""
    try:
        with provider_client(provider) as client:
            try:
                token = client.exchange_code(code)
            except AuthError as exc:
                # A reused, unknown or expired code: the login has to start over.
                raise LoginRefused(CODE_USED, exc.rendered_hint()) from None
            me = client.users_me(token.access_token)
            return _userid_for(client, provider, me.union_id)
    except NotFound:
        raise LoginRefused(NOT_IN_ORG, NOT_IN_ORG_NEXT) from None
    except ProviderError as exc:
        log.warning("DingTalk login via provider %s unavailable: %s", provider.pk, exc)
        raise LoginRefused(UNAVAILABLE, UNAVAILABLE_NEXT) from None
    except DingTalkError as exc:
        log.warning("DingTalk login via provider %s failed: %r", provider.pk, exc)
        raise LoginRefused(DINGTALK_FAILED, exc.rendered_hint()) from None


def _userid_for(client: DingTalkClient, provider: IdentityProvider, unionid: str) -> str:
    """The userid of ``unionid``: from a UserLink when one knows it, else from DingTalk."""
    if not unionid:
        raise LoginRefused(NOT_IN_ORG, NOT_IN_ORG_NEXT)
    known = (
        UserLink.objects.filter(provider=provider, unionid=unionid)
        .values_list("userid", flat=True)
        .first()
    )
    return known or client.user_getbyunionid(unionid)


def _linked_account(provider: IdentityProvider, userid: str) -> Account:
    """The active directory account linked to ``userid`` under ``provider``."""
    link = (
        UserLink.objects.select_related("account")
        .filter(provider=provider, userid=userid, account__isnull=False)
        .first()
    )
    if link is None or link.account is None:
        raise LoginRefused(NOT_LINKED)
    if link.account.status != Account.Status.ACTIVE:
        raise LoginRefused(DISABLED, DISABLED_NEXT)
    return link.account


def _console_user(account: Account) -> AbstractBaseUser:
    """The account's console user: same username, active; its role decides what it sees."""
    users = get_user_model()
    lookup = {users.USERNAME_FIELD: account.username, "is_active": True}
    user = users.objects.filter(**lookup).first()
    if user is None:
        raise LoginRefused(NO_CONSOLE_USER, NO_CONSOLE_USER_NEXT)
    return user
