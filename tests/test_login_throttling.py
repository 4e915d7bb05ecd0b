"""Login throttling (django-axes): five failures for one username from one address lock that
pair out for 15 minutes, with a page that says so; a success resets the count."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def attempt(client, password: str, ip: str = "10.0.0.1", username: str = "boss"):
    data = {"username": username, "password": password}
    return client.post(reverse("login"), data, REMOTE_ADDR=ip)


@pytest.fixture
def boss(db):
    return make_user("boss", "administrator")


def test_five_failures_lock_the_username_out_from_that_address_with_a_message(client, boss):
    for _ in range(4):
        assert attempt(client, "wrong").status_code == 200
    locked = attempt(client, "wrong")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many failed logins" in text and "15 minutes" in text and "boss" in text
    right = attempt(client, PASSWORD)
    assert right.status_code == 429 and "_auth_user_id" not in client.session


def test_the_lockout_does_not_reach_another_address_or_another_username(client, boss):
    make_user("vera", "viewer")
    for _ in range(5):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD, ip="10.0.0.2").status_code == 302
    client.logout()
    assert attempt(client, PASSWORD, username="vera").status_code == 302


def test_a_success_resets_the_count(client, boss):
    for _ in range(4):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, "wrong").status_code == 200
    assert attempt(client, PASSWORD).status_code == 302


def test_the_limits_come_from_settings(client, boss, settings):
    settings.AXES_FAILURE_LIMIT = 2
    attempt(client, "wrong")
    assert attempt(client, "wrong").status_code == 429
