"""Audit entries record who changed what, with secrets masked at any depth."""

import pytest

from dtconsole.audit.services import CHANGED_MASK, MASK, audit_record, mask_secrets
from dtconsole.providers.models import IdentityProvider


def test_secret_looking_keys_are_masked_at_any_depth():
    values = {"app_secret": "x", "name": "n", "nested": {"access_token": "t", "ok": 1}}
    assert mask_secrets(values) == {
        "app_secret": MASK,
        "name": "n",
        "nested": {"access_token": MASK, "ok": 1},
    }


@pytest.mark.django_db
def test_an_entry_names_actor_object_and_changed_fields(admin_user):
    provider = IdentityProvider.objects.create(name="P", corp_id="c", app_key="k", agent_id="1")
    entry = audit_record(
        admin_user,
        "provider.update",
        provider,
        before={"name": "Old", "app_secret": "a"},
        after={"name": "P", "app_secret": "b"},
    )
    assert entry.actor_name == "admin" and entry.object_type == "providers.identityprovider"
    assert entry.changes() == [("app_secret", MASK, CHANGED_MASK), ("name", "Old", "P")]
    assert entry.before["app_secret"] == MASK and "b" not in entry.after.values()
