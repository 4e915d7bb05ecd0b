"""The layout: every section is reachable when logged in and closed to anonymous visitors."""

import pytest
from django.urls import reverse

SECTIONS = ["providers:list", "sync:job_list", "sync:event_list", "audit:list"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", [*SECTIONS, "home"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login")) and f"next={url}" in response.url


@pytest.mark.django_db
@pytest.mark.parametrize("name", SECTIONS)
def test_each_section_renders_with_the_navigation(admin_client, name):
    response = admin_client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    for label in ["Directory", "Providers", "Sync jobs", "Sync events", "Audit"]:
        assert f">{label}</a>" in body


@pytest.mark.django_db
def test_the_login_page_is_open_and_a_wrong_password_is_refused(client, admin_user):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "admin", "password": "wrong"})
    assert response.status_code == 200
    assert "Wrong username or password" in response.content.decode()


@pytest.mark.django_db
def test_demo_admin_gets_a_generated_password_printed_once(capsys):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("create_demo_admin")
    first = capsys.readouterr().out
    password = first.split("password: ")[1].split()[0]
    assert len(password) >= 16
    assert get_user_model().objects.get(username="admin").check_password(password)
    call_command("create_demo_admin")
    assert password not in capsys.readouterr().out


@pytest.mark.django_db
def test_favicon_ico_leads_to_the_icon_every_page_links(client):
    page = client.get(reverse("login")).content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and "favicon" in response.url
    assert f'href="{response.url}"' in page
