"""Text search: one interface, three backends, indexes that follow events.

A service declares django-elasticsearch-dsl documents in ``documents.py``
(``documents``: what the kit reads from them); a batched processor keeps
them indexed from the service's own events (``indexing``); ``searching``
asks the backend the settings pick (``backends``: Elasticsearch, PostgreSQL
full text, a plain database filter); ``rebuild`` moves an alias to a fresh
index without downtime; ``text`` holds the words every backend shares;
``health`` is the engine as ``/status`` shows it::

    from ucloud.search.searching import search
    search(FileDocument, "q3 budget", filters={"readers": "alice"}).hits
"""
