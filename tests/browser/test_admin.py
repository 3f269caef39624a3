"""The admin as a person uses it, in a real browser: every service's models
are listed, and a dead letter is retried with the admin action."""

from __future__ import annotations

import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from apps.accounts.models import User
from apps.notifications.models import Notification
from ucloud import registry
from ucloud.models import DeadLetter

pytestmark = pytest.mark.django_db(transaction=True)

NOTIFY = "notifications:apps.notifications.processors.notify_of_file_event"


def log_in(browser, live_server) -> None:
    User.objects.create_superuser("root", "root@example.com", "root-secret-1")
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("root")
    browser.find_element(By.NAME, "password").send_keys("root-secret-1")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # The login page has the same header: wait for the page after it, which
    # greets the user, before reading anything.
    WebDriverWait(browser, 10).until(lambda page: "/login/" not in page.current_url)
    assert "ROOT" in browser.find_element(By.ID, "user-tools").text.upper()


def test_admin_index_lists_every_model_of_every_service(browser, live_server):
    log_in(browser, live_server)

    browser.get(f"{live_server.url}/admin/")
    links = {
        link.get_attribute("href").removeprefix(live_server.url)
        for link in browser.find_elements(By.CSS_SELECTOR, "#content-main a")
    }
    for service in [*registry.services().values()]:
        for model in service.get_models():
            changelist = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            assert changelist in links, changelist
    # The kit's own tables are inspectable too.
    for name in ("outboxevent", "inboxentry", "deadletter"):
        assert f"/admin/ucloud/{name}/" in links


def test_retrying_a_dead_letter_from_the_admin_processes_it_once(browser, live_server):
    letter = DeadLetter.objects.create(
        consumer=NOTIFY,
        event_id=uuid.uuid4(),
        stream="files.events",
        key="7",
        payload={
            "type": "file_shared",
            "file_id": 7,
            "owner": "alice",
            "path": "/docs/a.txt",
            "old_path": None,
            "shared_with": "bob",
        },
        error="OperationalError: database was down",
        attempts=5,
    )
    log_in(browser, live_server)

    browser.get(f"{live_server.url}/admin/ucloud/deadletter/")
    assert "database was down" in browser.find_element(By.ID, "result_list").text
    checkbox = f"input[name=_selected_action][value='{letter.pk}']"
    browser.find_element(By.CSS_SELECTOR, checkbox).click()
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text(
        "Retry selected dead letters"
    )
    browser.find_element(By.NAME, "index").click()

    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success").text
    assert message == "1 dead letter(s) handled and resolved."
    letter.refresh_from_db()
    assert letter.resolved_at is not None
    assert [(n.username, n.message) for n in Notification.objects.all()] == [
        ("bob", "alice shared /docs/a.txt with you")
    ]
