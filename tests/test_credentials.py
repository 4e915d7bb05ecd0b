"""AppSecrets are encrypted at rest, decryptable while any configured key is, and rotatable."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from dtconsole.providers import crypto
from dtconsole.providers.models import IdentityProvider

SECRET = "s3cr3t-AppSecret-value-0123456789"


def make_provider(**kw) -> IdentityProvider:
    provider = IdentityProvider(name="Demo", corp_id="dingcorp", app_key="dingkey", agent_id="1")
    provider.set_app_secret(kw.get("secret", SECRET))
    provider.save()
    return provider


@pytest.mark.django_db
def test_the_app_secret_is_stored_encrypted_and_read_back(settings):
    make_provider()
    stored = IdentityProvider.objects.values_list("app_secret_encrypted", flat=True).get()
    assert SECRET not in stored
    assert IdentityProvider.objects.get().app_secret() == SECRET


@pytest.mark.django_db
def test_rotation_re_encrypts_with_the_new_key_and_the_old_key_can_then_go(settings):
    old, new = settings.CREDENTIALS_KEY, Fernet.generate_key().decode()
    make_provider()
    settings.CREDENTIALS_KEY = f"{new},{old}"
    out = io.StringIO()
    call_command("rotate_credentials_key", stdout=out)
    assert "Re-encrypted 1 secret(s)" in out.getvalue()
    settings.CREDENTIALS_KEY = new
    assert IdentityProvider.objects.get().app_secret() == SECRET


@pytest.mark.django_db
def test_a_secret_under_an_unknown_key_fails_with_advice(settings):
    make_provider()
    settings.CREDENTIALS_KEY = Fernet.generate_key().decode()
    with pytest.raises(crypto.CredentialsKeyError, match="enter the AppSecret again"):
        IdentityProvider.objects.get().app_secret()


def test_a_malformed_key_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CREDENTIALS_KEY = "not-a-key"
    with pytest.raises(ImproperlyConfigured, match="Fernet"):
        crypto.encrypt("x")
