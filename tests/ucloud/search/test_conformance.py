"""One search contract, every backend: the same tests run on the database
filter, PostgreSQL full text, the Elasticsearch API (osmem-server) and a
real Elasticsearch when ``ELASTICSEARCH_URL`` is set (``conftest.engine``)."""

from __future__ import annotations

import pytest

from apps.files.documents import FileDocument
from apps.files.models import File, Share
from ucloud.search.documents import spec_of
from ucloud.search.query import MAX_WINDOW
from ucloud.search.searching import search


def make(owner: str, path: str, *, shared_with: tuple[str, ...] = ()) -> int:
    file = File.objects.create(owner=owner, path=path, size=1)
    for username in shared_with:
        Share.objects.create(file=file, username=username)
    return file.id


def paths(result) -> list[str]:
    return [hit.source["path"] for hit in result.hits]


def test_the_words_of_a_path_find_it_whatever_their_case_and_order(engine):
    wanted = make("alice", "/reports/Q3-budget.pdf")
    make("alice", "/reports/q4-plan.txt")
    engine.index([wanted, wanted + 1])

    assert paths(engine.search("q3 budget", reader="alice")) == ["/reports/Q3-budget.pdf"]
    assert paths(engine.search("BUDGET Q3", reader="alice")) == ["/reports/Q3-budget.pdf"]


def test_a_query_word_matches_the_start_of_a_word(engine):
    engine.index([make("alice", "/reports/Q3-budget.pdf")])

    assert paths(engine.search("budg rep", reader="alice")) == ["/reports/Q3-budget.pdf"]
    assert paths(engine.search("udget", reader="alice")) == []


def test_every_word_of_the_query_must_match(engine):
    engine.index([make("alice", "/reports/Q3-budget.pdf")])

    assert paths(engine.search("q3 forecast", reader="alice")) == []


def test_a_reader_finds_only_documents_whose_readers_hold_them_exactly(engine):
    own = make("alice", "/alice/budget.txt")
    shared = make("bob", "/bob/budget.txt", shared_with=("alice",))
    other = make("bob", "/bob/private-budget.txt")
    look_alike = make("Alice", "/Alice/budget.txt")
    engine.index([own, shared, other, look_alike])

    assert sorted(paths(engine.search("budget", reader="alice"))) == [
        "/alice/budget.txt",
        "/bob/budget.txt",
    ]
    assert sorted(paths(engine.search("budget", reader="bob"))) == [
        "/bob/budget.txt",
        "/bob/private-budget.txt",
    ]
    assert paths(engine.search("budget", reader="carol")) == []


def test_the_closest_match_ranks_first(engine):
    long = make("alice", "/reports/2023/old/archive/budget-notes-q3-draft.txt")
    short = make("alice", "/budget.txt")
    engine.index([long, short])

    result = engine.search("budget", reader="alice")

    assert paths(result) == [
        "/budget.txt",
        "/reports/2023/old/archive/budget-notes-q3-draft.txt",
    ]
    assert result.hits[0].score >= result.hits[1].score


def test_pages_cover_every_hit_once_in_rank_order(engine):
    ids = [make("alice", f"/data/report-{n}.csv") for n in range(5)]
    engine.index(ids)

    pages = [engine.search("report", reader="alice", size=2, offset=o) for o in (0, 2, 4)]

    assert [len(page.hits) for page in pages] == [2, 2, 1]
    assert [page.more for page in pages] == [True, True, False]
    found = [hit.id for page in pages for hit in page.hits]
    assert sorted(found) == sorted(str(i) for i in ids)
    whole = engine.search("report", reader="alice", size=10)
    assert [hit.id for hit in whole.hits] == found


def test_reindexing_a_changed_object_replaces_its_document(engine):
    file_id = make("alice", "/drafts/plan.txt")
    engine.index([file_id])
    File.objects.filter(id=file_id).update(path="/final/budget.txt")
    engine.index([file_id])

    assert paths(engine.search("plan", reader="alice")) == []
    assert paths(engine.search("budget final", reader="alice")) == ["/final/budget.txt"]


def test_sharing_reindexed_makes_the_file_visible_to_the_new_reader(engine):
    file_id = make("alice", "/reports/q3.pdf")
    engine.index([file_id])
    assert paths(engine.search("q3", reader="bob")) == []

    Share.objects.create(file_id=file_id, username="bob")
    engine.index([file_id])

    assert paths(engine.search("q3", reader="bob")) == ["/reports/q3.pdf"]


def test_an_object_gone_from_the_database_leaves_the_index(engine):
    file_id = make("alice", "/tmp/budget.txt")
    engine.index([file_id])
    File.objects.filter(id=file_id).delete()
    engine.index([file_id])

    assert paths(engine.search("budget", reader="alice")) == []


def test_nothing_indexed_yet_is_an_empty_answer(engine):
    result = engine.search("anything", reader="alice")

    assert (result.hits, result.more) == ([], False)


def test_hits_carry_the_document_body(engine):
    file_id = make("alice", "/a/budget.txt", shared_with=("bob",))
    engine.index([file_id])

    (hit,) = engine.search("budget", reader="bob").hits

    assert hit.id == str(file_id)
    assert {key: hit.source[key] for key in ("path", "owner", "readers", "size")} == {
        "path": "/a/budget.txt",
        "owner": "alice",
        "readers": ["alice", "bob"],
        "size": 1,
    }


def test_a_new_index_takes_over_when_the_alias_switches(engine):
    spec = spec_of(FileDocument)
    backend = engine.backend
    old = make("alice", "/old/budget.txt")
    engine.index([old])
    before = backend.current_index(spec)

    fresh = backend.create_index(spec)
    File.objects.filter(id=old).update(path="/new/budget.txt")
    from ucloud.search.documents import prepare

    backend.write(spec, prepare(FileDocument, File.objects.filter(id=old)), index=fresh)
    assert paths(engine.search("budget", reader="alice")) == ["/old/budget.txt"]

    left = backend.switch_alias(spec, fresh)
    backend.refresh(spec)

    assert left == [before]
    assert backend.current_index(spec) == fresh
    assert paths(engine.search("budget", reader="alice")) == ["/new/budget.txt"]
    listed = {info.name: info for info in backend.indices(spec)}
    assert listed[fresh].aliases == (spec.alias,)
    assert listed[fresh].documents == 1
    backend.drop_index(spec, before)
    assert before not in {info.name for info in backend.indices(spec)}


@pytest.mark.parametrize("offset", [MAX_WINDOW, MAX_WINDOW + 1])
def test_nothing_is_served_past_the_window(engine, offset):
    engine.index([make("alice", "/budget.txt")])

    assert engine.search("budget", reader="alice", offset=offset).hits == []


def test_without_filters_every_document_with_the_words_is_found(engine):
    engine.index([make("alice", "/a/budget.txt"), make("bob", "/b/budget.txt")])

    result = search(FileDocument, "budget")

    assert sorted(hit.source["path"] for hit in result.hits) == ["/a/budget.txt", "/b/budget.txt"]
