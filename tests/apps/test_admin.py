"""The admin shows every model of every service, and superusers are ADMIN."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client

from apps.accounts.models import User
from ucloud import registry


def test_every_model_of_every_service_is_registered_in_the_admin():
    models = [model for service in registry.services().values() for model in service.get_models()]
    assert models, "no service models found"
    missing = [model._meta.label for model in models if not admin.site.is_registered(model)]
    assert missing == []


@pytest.mark.django_db
def test_createsuperuser_noinput_makes_an_admin_who_sees_each_service_in_the_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "root-secret-1")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    call_command("createsuperuser", "--noinput", verbosity=0)

    user = User.objects.get(username="root")
    assert user.is_superuser
    assert user.effective_role == "ADMIN"

    browser = Client()
    assert browser.login(username="root", password="root-secret-1")
    index = browser.get("/admin/")
    assert index.status_code == 200
    for service in registry.services().values():
        for model in service.get_models():
            url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            assert url.encode() in index.content
            assert browser.get(url).status_code == 200


@pytest.mark.django_db
def test_superuser_logs_in_through_the_api_as_admin():
    User.objects.create_superuser("boss", "boss@example.com", "boss-secret-1")
    client = Client()
    login = client.post(
        "/api/accounts/login",
        {"username": "boss", "password": "boss-secret-1"},
        content_type="application/json",
    )
    assert login.status_code == 200
    token = login.json()["access_token"]
    me = client.get("/api/accounts/whoami", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.json() == {"username": "boss", "role": "ADMIN"}
