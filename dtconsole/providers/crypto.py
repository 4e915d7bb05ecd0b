"""Encryption at rest for DingTalk credentials (AppSecret).

Keys come from ``settings.CREDENTIALS_KEY``: a comma-separated list of Fernet keys. The first
key encrypts; every key decrypts. To rotate: put a new key first, run
``manage.py rotate_credentials_key`` (re-encrypts every stored secret with the new key), then
remove the old key.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _


class CredentialsKeyError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "CREDENTIALS_KEY must be one or more comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from exc


def encrypt(plaintext: str) -> str:
    """Encrypt with the first configured key."""
    return _fernet(settings.CREDENTIALS_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt with any configured key."""
    try:
        return _fernet(settings.CREDENTIALS_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialsKeyError(
            _(
                "The stored AppSecret cannot be decrypted with CREDENTIALS_KEY. Restore the key "
                "it was encrypted with (add it after the current one), or enter the AppSecret "
                "again."
            )
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the first configured key."""
    try:
        return _fernet(settings.CREDENTIALS_KEY).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialsKeyError("cannot decrypt a stored secret with any configured key") from exc
