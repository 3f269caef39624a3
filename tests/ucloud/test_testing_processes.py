"""The process harness ``ucloud.testing`` ships: ports, scratch databases."""

from __future__ import annotations

import os
import socket

import psycopg

from tests.conftest import require
from ucloud.deploy.database_server import is_postgres, maintenance_connection, server_reachable
from ucloud.testing.ports import free_port, listening_socket
from ucloud.testing.scratch import scratch_database


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_free_port_leaves_the_ports_of_every_replica_free():
    port = free_port(step=100, count=3)
    assert all(_bindable(port + 100 * i) for i in range(3))


def test_a_listening_socket_accepts_before_any_server_took_it_over():
    with listening_socket() as sock:
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            accepted, _ = sock.accept()
            accepted.close()
        assert sock.get_inheritable()


def test_without_postgresql_the_scratch_database_is_a_sqlite_file_of_the_folder(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.sqlite3")
    with scratch_database(tmp_path) as url:
        assert url == f"sqlite:///{tmp_path / 'e2e.sqlite3'}"


def test_a_scratch_postgresql_database_exists_empty_for_the_block_only(tmp_path):
    configured = os.environ.get("DATABASE_URL", "")
    require(is_postgres(configured) and server_reachable(configured), "PostgreSQL DATABASE_URL")
    with scratch_database(tmp_path, prefix="ucloud_scratch_test") as url:
        assert "/ucloud_scratch_test_" in url
        with psycopg.connect(url) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            assert tables.fetchone() == (0,)
    name = url.rsplit("/", 1)[1]
    with maintenance_connection(configured) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        assert found.fetchone() is None
