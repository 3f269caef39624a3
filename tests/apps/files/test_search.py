"""``files.search``: the files a caller may see, ranked by the words of their
paths, indexed from files' own events (eagerly after commit here, as in
``make run``), on the backend the test run's database gives."""

from __future__ import annotations

import json
import socket

import pytest
from django.db import transaction
from django.utils import timezone

from apps.accounts.services import user_create
from apps.files import services
from apps.files.api import FileDescriptions
from apps.files.documents import FileDocument
from ucloud.auth.tokens import mint_access_token
from ucloud.contracts.roles import Role
from ucloud.databases import alias_for
from ucloud.events.eager import deliver_pending
from ucloud.events.processors import processors
from ucloud.models import DeadLetter, OutboxEvent
from ucloud.rpc.client import RPCClient
from ucloud.search.backends import backend_for
from ucloud.search.documents import spec_of
from ucloud.search.models import SearchEntry

pytestmark = pytest.mark.django_db(transaction=True)

JSON = "application/json"


@pytest.fixture(autouse=True)
def users() -> None:
    for username in ("alice", "bob", "carol"):
        user_create(username=username, password="correct-horse-battery", role="USER")


def create(owner: str, path: str) -> int:
    return int(services.file_create(owner=owner, path=path, size=1)["id"])


def share(owner: str, file_id: int, target: str) -> None:
    services.file_share(
        username=owner, id=file_id, target=target, accounts=RPCClient.for_service("files")
    )


def search(client, username: str, body: dict):
    token = mint_access_token(username, Role.USER)
    return client.post(
        "/api/files/search",
        data=json.dumps(body),
        content_type=JSON,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def found(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["file"]["path"] for item in response.json()["items"]]


def test_the_index_follows_files_events_in_a_batched_processor_of_files_own_group():
    (indexer,) = [p for p in processors().values() if p.function.__name__ == "index_files"]

    assert (indexer.group, indexer.stream.name, indexer.batched) == ("files", "files.events", True)


def test_words_of_the_path_find_the_file_over_http(client):
    create("alice", "/reports/Q3-budget.pdf")
    create("alice", "/reports/Q4-plan.txt")

    response = search(client, "alice", {"query": "q3 budget"})

    assert found(response) == ["/reports/Q3-budget.pdf"]
    (item,) = response.json()["items"]
    assert item["highlight"] == "/reports/<em>Q3</em>-<em>budget</em>.pdf"
    assert item["score"] > 0
    assert item["file"]["owner"] == "alice"


def test_a_caller_finds_own_and_shared_files_and_never_anyone_elses(client):
    own = create("alice", "/alice/budget.txt")
    theirs = create("bob", "/bob/budget-shared.txt")
    create("bob", "/bob/budget-private.txt")
    create("carol", "/carol/budget.txt")
    share("bob", theirs, "alice")

    response = search(client, "alice", {"query": "budget", "items_per_page": 250})

    assert sorted(found(response)) == ["/alice/budget.txt", "/bob/budget-shared.txt"]
    assert "private" not in response.content.decode()
    assert "carol" not in response.content.decode()
    assert own


def test_the_call_answers_the_same_in_process():
    create("alice", "/reports/Q3-budget.pdf")
    client = RPCClient.for_token(mint_access_token("alice", Role.USER))

    page = FileDescriptions.search.call({"query": "Q3"}, client)

    assert [item["file"]["path"] for item in page["items"]] == ["/reports/Q3-budget.pdf"]
    assert page["next"] is None


def test_pages_follow_with_next_until_none(client):
    for n in range(5):
        create("alice", f"/data/report-{n}.csv")
    seen: list[str] = []
    body: dict = {"query": "report", "items_per_page": 2}
    while True:
        page = search(client, "alice", body).json()
        seen += [item["file"]["path"] for item in page["items"]]
        if page["next"] is None:
            break
        body["next"] = page["next"]

    assert sorted(seen) == [f"/data/report-{n}.csv" for n in range(5)]


def test_a_moved_or_deleted_file_is_found_by_what_it_is_now(client):
    moved = create("alice", "/drafts/plan.txt")
    gone = create("alice", "/drafts/budget.txt")
    services.file_move(username="alice", id=moved, new_path="/final/report.txt")
    services.file_delete(username="alice", id=gone)

    assert found(search(client, "alice", {"query": "drafts"})) == []
    assert found(search(client, "alice", {"query": "final report"})) == ["/final/report.txt"]


def test_a_rolled_back_transaction_indexes_nothing(client):
    def create_then_fail() -> None:
        with transaction.atomic(using=alias_for("files")):
            create("alice", "/reports/secret-budget.pdf")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        create_then_fail()

    assert found(search(client, "alice", {"query": "secret"})) == []
    assert not SearchEntry.objects.filter(words__contains="secret").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "--- ..."}, "query"),
        ({"query": "x" * 201}, "query"),
        ({"query": "a", "items_per_page": 0}, "items_per_page"),
        ({"query": "a", "next": "two"}, "next"),
        ({}, "query"),
    ],
)
def test_bad_requests_are_400_naming_the_field(client, body, field):
    response = search(client, "alice", body)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_guest_is_refused(client):
    response = client.post("/api/files/search", data='{"query": "a"}', content_type=JSON)

    assert response.status_code == 401


def test_a_search_engine_that_is_down_fails_no_write_and_the_index_catches_up(
    client, settings, osmem_url
):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    down = {
        **settings.UCLOUD,
        "SEARCH_BACKEND": "elasticsearch",
        "ELASTICSEARCH_URL": f"http://127.0.0.1:{closed_port}",
        "ELASTICSEARCH_PLAIN_JSON": True,
    }
    settings.UCLOUD = down

    file_id = create("alice", "/reports/Q3-budget.pdf")  # the write succeeds
    response = search(client, "alice", {"query": "budget"})

    assert response.status_code == 503
    assert response.json()["error_code"] == "search_unavailable"
    # The event waits: no attempt counted, no dead letter.
    row = OutboxEvent.objects.get(stream="files.events")
    assert row.eager_done_at is None
    assert not DeadLetter.objects.exists()

    settings.UCLOUD = {**down, "ELASTICSEARCH_URL": osmem_url}
    OutboxEvent.objects.filter(id=row.id).update(eager_retry_at=timezone.now())
    deliver_pending(using=alias_for("files"))
    backend_for("files").refresh(spec_of(FileDocument))
    assert found(search(client, "alice", {"query": "budget"})) == ["/reports/Q3-budget.pdf"]
    assert file_id
