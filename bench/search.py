"""Search: the kit's batched indexing against ``helpers.bulk``, and
``files.search`` over 100,000 files on PostgreSQL against its bare SQL.

* ``index_ratio``: documents per second through the kit's indexing
  processor (``deliver`` of ``files.events`` batches to the files group:
  inbox check, the files read back with their shares, the documents
  prepared, one bulk request, the inbox rows) divided by documents per
  second of the same batches indexed by hand (the same files read and
  prepared, then ``elasticsearch.helpers.bulk``), same ``osmem-server``;
* ``search_p50_ms``: median time of an in-process ``files.search`` call
  (token check, validation, the search, the page read back from the files
  table, serialization) over 100,000 files of 100 users on the PostgreSQL
  backend, and ``search_vs_sql_ratio``: that over the median of the bare
  search statement run with a cursor.

Runs in the benchmark's world (``bench.environment``)::

    figures = measure(world)
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.environment import World

DOCUMENTS = 5_000
BATCH = 500
INDEX_REPEATS = 5
SEARCH_FILES = 100_000
SEARCH_USERS = 100
SEARCH_CALLS = 300
DEPARTMENTS = ["finance", "sales", "legal", "research", "ops", "hr", "it", "board", "press", "lab"]
TOPICS = ["budget", "forecast", "plan", "report", "minutes", "invoice", "contract", "review",
          "roadmap", "audit", "survey", "memo", "slides", "notes", "summary", "draft", "policy",
          "payroll", "hiring", "travel"]  # fmt: skip
EXTENSIONS = ["pdf", "txt", "xlsx", "docx", "csv"]
QUERIES = ["q3 budget", "finance report", "2021 plan", "legal contract q1", "minutes",
           "sales forecast 2023", "budg", "review q4 docx"]  # fmt: skip


def _path(rng: random.Random, n: int) -> str:
    return (
        f"/{rng.choice(DEPARTMENTS)}/{rng.randint(2015, 2024)}/"
        f"q{rng.randint(1, 4)}-{rng.choice(TOPICS)}-{n}.{rng.choice(EXTENSIONS)}"
    )


# ----------------------------------------------------------------- indexing


def _events(file_ids: list[int]) -> list[Any]:
    from apps.files.api import files_events
    from ucloud.events.delivery import Received

    # New event ids every run: the inbox would skip events handled before.
    # The contract fingerprint rides along, as the relay sends it.
    return [
        Received(
            uuid.uuid4().hex,
            str(file_id),
            {"type": "file_created", "file_id": file_id, "owner": "bench", "path": "/x",
             "old_path": None, "shared_with": None},
            contract=files_events.contract,
        )
        for file_id in file_ids
    ]  # fmt: skip


def measure_indexing(world: World) -> dict[str, Any]:
    from django.conf import settings
    from django.test import override_settings
    from django.utils import timezone
    from elasticsearch import helpers
    from osmem_server import OsmemServer

    from apps.files.api import files_events
    from apps.files.documents import FileDocument
    from apps.files.models import File
    from ucloud.events.delivery import deliver
    from ucloud.models import InboxEntry
    from ucloud.search.backends import backend_for
    from ucloud.search.backends.elasticsearch import build_actions
    from ucloud.search.client import make_client
    from ucloud.search.documents import prepare, spec_of

    owner = f"{world.username}-index"
    File.objects.bulk_create(
        [File(owner=owner, path=f"/index/{n}-report.txt", size=n) for n in range(DOCUMENTS)]
    )
    ids = list(File.objects.filter(owner=owner).order_by("id").values_list("id", flat=True))
    batches = [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]
    with OsmemServer.start(freeze=False, japanese=False) as server:
        ucloud = {**settings.UCLOUD, "SEARCH_BACKEND": "elasticsearch",
                  "ELASTICSEARCH_URL": server.url, "ELASTICSEARCH_PLAIN_JSON": True}  # fmt: skip
        with override_settings(UCLOUD=ucloud):
            spec = spec_of(FileDocument)
            backend_for("files").write(spec, prepare(FileDocument, File.objects.filter(id=ids[0])))
            client = make_client(server.url, plain=True, timeout=60)

            def kit() -> None:
                for batch in batches:
                    outcome = deliver("files", files_events, _events(batch), attempts={})
                    assert not outcome.failed, outcome.failed

            def by_hand() -> None:
                for batch in batches:
                    files = FileDocument().get_queryset().filter(pk__in=batch)
                    actions = build_actions(prepare(FileDocument, files), spec.alias)
                    helpers.bulk(client, actions)

            started = timezone.now()
            kit()
            by_hand()  # warm both, then statistics that know the inbox's size
            _analyze("ucloud_inboxentry")
            kit_s, plain_s = _interleaved(kit, by_hand, INDEX_REPEATS)
            bulk_only_s = _bulk_only(client, spec, batches)
    File.objects.filter(owner=owner).delete()
    # The inbox rows of the benchmark's own events go with them.
    InboxEntry.objects.filter(consumer__startswith="files:", handled_at__gte=started).delete()
    ratios = [p / k for k, p in zip(kit_s, plain_s, strict=True)]
    return {
        "index_ratio": round(statistics.median(ratios), 3),
        "kit_documents_per_s": round(DOCUMENTS / statistics.median(kit_s)),
        "bulk_documents_per_s": round(DOCUMENTS / statistics.median(plain_s)),
        "prebuilt_bulk_documents_per_s": round(DOCUMENTS / bulk_only_s),
        "documents": DOCUMENTS,
        "batch": BATCH,
        "repeats": INDEX_REPEATS,
        "server": "osmem-server (in-memory, Elasticsearch API)",
    }


def _bulk_only(client: Any, spec: Any, batches: list[list[int]]) -> float:
    """The bulk requests alone, documents built beforehand (a floor, for the README)."""
    from elasticsearch import helpers

    from apps.files.documents import FileDocument
    from ucloud.search.backends.elasticsearch import build_actions
    from ucloud.search.documents import prepare

    built = [
        build_actions(prepare(FileDocument, FileDocument().get_queryset().filter(pk__in=b)),
                      spec.alias)
        for b in batches
    ]  # fmt: skip
    started = time.perf_counter()
    for actions in built:
        helpers.bulk(client, actions)
    return time.perf_counter() - started


def _analyze(table: str) -> None:
    """Fresh planner statistics (autovacuum lags behind a table growing this fast)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")


def _interleaved(
    first: Callable[[], None], second: Callable[[], None], repeats: int
) -> tuple[list[float], list[float]]:
    times: tuple[list[float], list[float]] = ([], [])
    for repeat in range(repeats):
        order = [(0, first), (1, second)] if repeat % 2 == 0 else [(1, second), (0, first)]
        for slot, fn in order:
            started = time.perf_counter()
            fn()
            times[slot].append(time.perf_counter() - started)
    return times


# ----------------------------------------------------------------- searching


def _seed_search(prefix: str) -> list[str]:
    """100,000 files of 100 users, a tenth shared, indexed on PostgreSQL."""
    from apps.files.documents import FileDocument
    from apps.files.models import File, Share
    from ucloud.search.backends import backend_for
    from ucloud.search.documents import prepare, spec_of

    rng = random.Random(7)
    users = [f"{prefix}{n}" for n in range(SEARCH_USERS)]
    per_user = SEARCH_FILES // SEARCH_USERS
    rows = [File(owner=user, path=_path(rng, n), size=n) for user in users for n in range(per_user)]
    File.objects.bulk_create(rows, batch_size=5_000)
    ids = list(File.objects.filter(owner__startswith=prefix).values_list("id", flat=True))
    shares = [Share(file_id=i, username=rng.choice(users)) for i in rng.sample(ids, len(ids) // 10)]
    Share.objects.bulk_create(shares, batch_size=5_000, ignore_conflicts=True)
    spec = spec_of(FileDocument)
    backend = backend_for("files")
    for start in range(0, len(ids), 2_000):
        chunk = FileDocument().get_queryset().filter(pk__in=ids[start : start + 2_000])
        backend.write(spec, prepare(FileDocument, chunk))
    return users


def measure_searching(world: World) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection, connections
    from django.test import override_settings

    if connection.vendor != "postgresql":
        return {"skipped": "needs PostgreSQL (DATABASE_URL)"}
    from apps.files.api import FileDescriptions
    from apps.files.documents import FileDocument
    from apps.files.models import File
    from ucloud.auth.tokens import mint_access_token
    from ucloud.contracts.roles import Role
    from ucloud.rpc.client import RPCClient
    from ucloud.search.backends.base import initial_index
    from ucloud.search.backends.postgresql import SEARCH, tsquery
    from ucloud.search.documents import spec_of
    from ucloud.search.models import SearchEntry
    from ucloud.search.text import query_words

    prefix = f"{world.username}-s"
    ucloud = {**settings.UCLOUD, "SEARCH_BACKEND": "postgresql", "ELASTICSEARCH_URL": None,
              "AUDIT": False}  # fmt: skip
    with override_settings(UCLOUD=ucloud):
        started = time.perf_counter()
        users = _seed_search(prefix)
        seeded_s = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE ucloud_searchentry")
        spec = spec_of(FileDocument)
        rng = random.Random(11)
        cases = [(rng.choice(users), rng.choice(QUERIES)) for _ in range(SEARCH_CALLS)]
        clients = {user: RPCClient.for_token(mint_access_token(user, Role.USER)) for user in users}

        def kit(user: str, query: str) -> Any:
            return FileDescriptions.search.call({"query": query}, clients[user])

        def bare(user: str, query: str) -> Any:
            words = query_words(query)
            parameters: dict[str, Any] = {
                "text": " ".join(words), "tsquery": tsquery(words), "alias": spec.alias,
                "initial": initial_index(spec), "filters": f'{{"readers": ["{user}"]}}',
                "limit": 51, "offset": 0,
            }  # fmt: skip
            with connections["default"].cursor() as cursor:
                cursor.execute(SEARCH, parameters)
                return cursor.fetchall()

        hits = [len(kit(user, query)["items"]) for user, query in cases[:50]]
        kit_ms: list[float] = []
        bare_ms: list[float] = []
        for index, (user, query) in enumerate(cases):
            pair = [(kit_ms, kit), (bare_ms, bare)]
            for times, fn in pair if index % 2 == 0 else reversed(pair):
                began = time.perf_counter()
                fn(user, query)
                times.append((time.perf_counter() - began) * 1000)
        owned = File.objects.filter(owner__startswith=prefix).values_list("id", flat=True)
        ids = [str(value) for value in owned]
        for start in range(0, len(ids), 10_000):
            SearchEntry.objects.filter(doc_id__in=ids[start : start + 10_000]).delete()
        File.objects.filter(owner__startswith=prefix).delete()
    p50, bare_p50 = statistics.median(kit_ms), statistics.median(bare_ms)
    return {
        "search_p50_ms": round(p50, 2),
        "search_p95_ms": round(sorted(kit_ms)[int(len(kit_ms) * 0.95)], 2),
        "bare_sql_p50_ms": round(bare_p50, 2),
        "search_vs_sql_ratio": round(p50 / bare_p50, 2),
        "files": SEARCH_FILES,
        "users": SEARCH_USERS,
        "calls": SEARCH_CALLS,
        "median_hits": statistics.median(hits),
        "seed_and_index_s": round(seeded_s, 1),
        "queries": QUERIES,
    }


def measure(world: World) -> dict[str, Any]:
    return {"indexing": measure_indexing(world), "searching": measure_searching(world)}
