"""Processors of files: the search index follows the service's own events.

Every files event names the file whose document changed; a batch of them is
one bulk write (``ucloud.search.indexing``)::

    celery -A config worker        # the files consumer group, in make worker
"""

from __future__ import annotations

from apps.files.api import files_events
from apps.files.documents import FileDocument
from ucloud.events.processors import processor
from ucloud.events.streams import Event
from ucloud.search.indexing import indexes


@processor(files_events, batched=True)
@indexes(FileDocument)
def index_files(events: list[Event]) -> set[int]:
    return {int(event.payload["file_id"]) for event in events}
