"""Rebuilds without downtime on every backend: a new index, the events
produced meanwhile caught up, the alias switched, the old index dropped;
and ``manage.py ucloud_search``."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from apps.files import services
from apps.files.documents import FileDocument
from apps.files.models import File
from ucloud.management.commands.ucloud_search import ProgressBar
from ucloud.search import rebuild as rebuilding
from ucloud.search.documents import spec_of
from ucloud.search.rebuild import indexers_of, rebuild, status


def paths(engine, text: str) -> list[str]:
    return sorted(hit.source["path"] for hit in engine.search(text, reader="alice").hits)


def test_the_indexer_of_files_is_found_from_its_processor():
    (indexer,) = indexers_of(FileDocument)

    assert (indexer.group, indexer.stream.name) == ("files", "files.events")


def test_a_rebuild_fills_a_new_index_and_switches_the_alias(engine):
    ids = [
        File.objects.create(owner="alice", path=f"/r/report-{n}.csv", size=1).id for n in range(3)
    ]
    engine.index(ids[:1])  # the old index knows one file only
    spec = spec_of(FileDocument)
    before = engine.backend.current_index(spec)
    progress: list[tuple[int, int]] = []

    report = rebuild(FileDocument, progress=lambda done, total: progress.append((done, total)))

    assert report.documents == 3
    assert progress[-1] == (3, 3)
    assert report.dropped == [before]
    assert engine.backend.current_index(spec) == report.index
    assert [info.name for info in engine.backend.indices(spec)] == [report.index]
    assert paths(engine, "report") == [f"/r/report-{n}.csv" for n in range(3)]


def test_changes_made_while_it_runs_are_caught_up(engine, monkeypatch):
    kept = services.file_create(owner="alice", path="/drafts/plan.txt", size=1)["id"]
    services.file_create(owner="alice", path="/drafts/old.txt", size=1)
    engine.index(File.objects.values_list("id", flat=True))
    monkeypatch.setattr(rebuilding, "BATCH", 1)
    changed = []

    def meanwhile(done: int, total: int) -> None:
        # After the rebuild read every file: a move and a new file, whose
        # events no processor has handled yet (nothing commits in this test).
        if done == total and not changed:
            services.file_move(username="alice", id=kept, new_path="/final/plan.txt")
            changed.append(services.file_create(owner="alice", path="/final/new.txt", size=1))

    report = rebuild(FileDocument, progress=meanwhile)

    assert report.caught_up >= 2
    assert paths(engine, "final") == ["/final/new.txt", "/final/plan.txt"]
    assert paths(engine, "drafts") == ["/drafts/old.txt"]


def test_status_lists_the_indices_their_counts_and_the_lag(engine):
    engine.index([File.objects.create(owner="alice", path="/a.txt", size=1).id])

    found = status(FileDocument)

    alias = spec_of(FileDocument).alias  # "files", with the run's prefix
    assert (found.alias, found.service, found.error) == (alias, "files", "")
    assert [(info.documents, info.aliases) for info in found.indices] == [(1, (alias,))]
    assert found.lag == 0


@pytest.mark.django_db
def test_the_command_rebuilds_and_reports(settings):
    settings.UCLOUD = {**settings.UCLOUD, "SEARCH_BACKEND": "database", "ELASTICSEARCH_URL": None}
    File.objects.create(owner="alice", path="/a.txt", size=1)
    out = io.StringIO()

    call_command("ucloud_search", "--rebuild", "--service", "files", stdout=out)
    call_command("ucloud_search", "--status", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("files: 1 document(s) into files-")
    assert lines[0].endswith("alias switched, dropped files-initial")
    assert lines[1].startswith("files (files, database): alias -> files-")
    assert lines[2].endswith(": 1 document(s) *")


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_service_or_one_without_documents():
    with pytest.raises(CommandError, match="No service 'billing'"):
        call_command("ucloud_search", "--status", "--service", "billing")
    with pytest.raises(CommandError, match="No documents to index for accounts"):
        call_command("ucloud_search", "--rebuild", "--service", "accounts")


def test_the_progress_bar_shows_rows_rate_and_time_left():
    out = io.StringIO()
    bar = ProgressBar(out, "files")

    bar(1000, 2000)

    line = out.getvalue()
    assert line.startswith("\rfiles [###############...............] 1,000/2,000  ")
    assert line.rstrip().endswith("left")
