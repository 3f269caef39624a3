"""The Elasticsearch backend without a server: the queries and bulk actions
it builds, the plain-JSON transport, and how engine failures surface."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

from apps.files.documents import FileDocument
from ucloud.search.backends.elasticsearch import build_actions, build_query, engine_errors
from ucloud.search.client import make_client, plain_json
from ucloud.search.documents import ID_FIELD, WORDS_FIELD, Prepared, spec_of
from ucloud.search.query import SearchQuery, SearchUnavailable


def test_every_word_is_a_required_prefix_ranked_by_a_match_and_filters_score_nothing():
    query = SearchQuery(words=["q3", "budg"], filters={"readers": "alice"})

    assert build_query(query) == {
        "bool": {
            "must": [{"prefix": {WORDS_FIELD: "q3"}}, {"prefix": {WORDS_FIELD: "budg"}}],
            "should": [{"match": {WORDS_FIELD: "q3 budg"}}],
            "filter": [{"term": {"readers": "alice"}}],
        }
    }


def test_bulk_actions_carry_the_body_the_words_and_the_id():
    prepared = Prepared(id="7", body={"path": "/a/B.txt"}, words="a b txt", keywords={})

    assert build_actions([prepared], "files-initial") == [
        {
            "_op_type": "index",
            "_index": "files-initial",
            "_id": "7",
            "_source": {"path": "/a/B.txt", WORDS_FIELD: "a b txt", ID_FIELD: "7"},
        }
    ]


def test_the_index_maps_the_documents_fields_and_the_kits():
    body = spec_of(FileDocument).elasticsearch_body()
    properties = body["mappings"]["properties"]

    assert properties["path"]["type"] == "text"
    assert properties["readers"]["type"] == "keyword"
    assert properties[WORDS_FIELD] == {"type": "text", "analyzer": "whitespace"}
    assert properties[ID_FIELD] == {"type": "keyword"}
    assert body["settings"] == {"number_of_shards": 1, "number_of_replicas": 0}


@pytest.mark.parametrize(
    ("sent", "plain"),
    [
        ("application/vnd.elasticsearch+json; compatible-with=9", "application/json"),
        ("application/vnd.elasticsearch+x-ndjson; compatible-with=9", "application/x-ndjson"),
        ("application/json", "application/json"),
        ("text/plain", "text/plain"),
    ],
)
def test_plain_json_turns_the_compatibility_media_types_back(sent, plain):
    assert plain_json(sent) == plain


class Recording(BaseHTTPRequestHandler):
    """Answers like a cluster; records the media types it was sent."""

    def do_GET(self) -> None:
        self.server.captured.append(  # type: ignore[attr-defined]
            {"accept": self.headers.get("Accept", ""), "type": self.headers.get("Content-Type")}
        )
        body = json.dumps({"name": "n", "cluster_name": "c", "version": {"number": "9.0.0"}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.end_headers()
        self.wfile.write(body.encode())

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("plain", [True, False])
def test_the_client_sends_plain_json_only_when_asked(http_server, plain):
    url, captured = http_server(Recording)
    client = make_client(url, plain=plain, timeout=5)

    client.info()
    client.search(index="files", query={"match_all": {}})

    accepts = {request["accept"] for request in captured}
    types = {request["type"] for request in captured if request["type"]}
    if plain:
        assert (accepts, types) == ({"application/json"}, {"application/json"})
    else:
        assert all("compatible-with" in value for value in accepts | types)


def test_a_refused_connection_is_search_unavailable(closed_port):
    client = make_client(f"http://127.0.0.1:{closed_port}", plain=True, timeout=2)

    with pytest.raises(SearchUnavailable) as refused, engine_errors():
        client.info()

    assert refused.value.status == 503
    assert refused.value.error_code == "search_unavailable"
