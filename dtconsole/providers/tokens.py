"""The provider's DingTalk access token, shared by every job and worker (a database row).

DingTalk returns the same token to every fetch inside its lifetime, so one token per app is
enough; before this every sync job fetched its own. The value is encrypted at rest like the
AppSecret, and tied to the app key and hosts it was issued for: a provider pointed elsewhere
never sends an old token there.
"""

import hashlib
import logging

from django.db import transaction

from connectors.dingtalk.tokens import StoredToken

from . import crypto
from .models import IdentityProvider, ProviderToken

log = logging.getLogger(__name__)


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _key(provider: IdentityProvider) -> str:
    where = "|".join((provider.app_key, provider.oapi_base, provider.api_base))
    return hashlib.sha256(where.encode()).hexdigest()


class ProviderTokenStore:
    """``connectors.dingtalk.tokens.TokenStore`` on the ProviderToken row of one provider."""

    def __init__(self, provider: IdentityProvider) -> None:
        self.provider_id = provider.pk
        self.key = _key(provider)

    def load(self) -> StoredToken | None:
        row = ProviderToken.objects.filter(provider_id=self.provider_id, key=self.key).first()
        if row is None:
            return None
        try:
            value = crypto.decrypt(row.value_encrypted)
        except crypto.CredentialsKeyError:
            return None  # another key now: fetch a new token
        return StoredToken(value, row.expires_at, row.obtained_at)

    def save(self, token: StoredToken) -> None:
        with transaction.atomic():
            ProviderToken.objects.update_or_create(
                provider_id=self.provider_id,
                defaults={
                    "key": self.key,
                    "value_encrypted": crypto.encrypt(token.value),
                    "fingerprint": _fingerprint(token.value),
                    "expires_at": token.expires_at,
                    "obtained_at": token.obtained_at,
                },
            )

    def discard(self, value: str) -> None:
        ProviderToken.objects.filter(
            provider_id=self.provider_id, fingerprint=_fingerprint(value)
        ).delete()


def forget_token(provider: IdentityProvider) -> None:
    """Drop the stored token (the app, its secret or its hosts changed)."""
    ProviderToken.objects.filter(provider_id=provider.pk).delete()
