"""``/status`` reports the search engine when one is configured: up and its
latency, or down, without making the unit unready."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def status_of(client, settings, url):
    settings.UCLOUD = {
        **settings.UCLOUD,
        "ELASTICSEARCH_URL": url,
        "ELASTICSEARCH_PLAIN_JSON": True,
        "ELASTICSEARCH_TIMEOUT": 2.0,
    }
    return client.get("/status")


def test_an_engine_that_answers_is_up_with_its_latency(client, settings, osmem_url):
    response = status_of(client, settings, osmem_url)

    search = response.json()["dependencies"]["search"]
    assert response.status_code == 200
    assert (search["ok"], search["backend"]) == (True, "elasticsearch")
    assert search["latency_ms"] > 0


def test_an_engine_that_is_down_is_reported_and_the_unit_stays_ready(client, settings, closed_port):
    response = status_of(client, settings, f"http://127.0.0.1:{closed_port}")

    assert response.status_code == 200
    assert response.json()["dependencies"]["search"] == {
        "ok": False,
        "backend": "elasticsearch",
        "error": "ConnectionError",
    }


def test_no_engine_configured_no_report(client, settings):
    response = status_of(client, settings, None)

    assert "search" not in response.json()["dependencies"]
