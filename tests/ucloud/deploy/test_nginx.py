"""The generated gateway: nginx accepts it, and it routes, labels and fails as meant.

The routing tests run the generated nginx.conf for real, in front of stub
units that answer with the path and headers they received.
"""

from __future__ import annotations

import re
import shutil

import httpx
import pytest

from tests.conftest import require
from tests.ucloud.deploy.conftest import Gateway, StubUnit, free_port, nginx_test, sample_data
from ucloud.deploy.nginx import local_servers, render_nginx
from ucloud.deploy.topology import parse_topology
from ucloud.management.commands.ucloud_deploy import find_nginx, root_user


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, nginx_binary):
    """One nginx for the module, before a stub accounts unit and two files replicas."""
    folder = tmp_path_factory.mktemp("gateway")
    topology = parse_topology(sample_data(), source="sample.toml")
    stubs = {name: StubUnit(name) for name in ("accounts", "files-1", "files-2")}
    servers = {
        "accounts": (stubs["accounts"].address,),
        "files": (stubs["files-1"].address, stubs["files-2"].address),
        # Nothing listens here: the notifications unit is down.
        "notifications": (f"127.0.0.1:{free_port()}",),
    }
    static = folder / "static"
    (static / "admin").mkdir(parents=True)
    (static / "admin" / "base.css").write_text("body { margin: 0 }\n")
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        render_nginx(
            topology,
            run_dir=str(folder),
            listen=f"127.0.0.1:{port}",
            servers=servers,
            static_root=str(static),
            user=root_user(),
        )
    )
    running = Gateway(nginx_binary, conf, port)
    running.stubs = stubs
    yield running
    running.stop()
    for stub in stubs.values():
        stub.close()


@pytest.fixture(scope="module")
def nginx_binary():
    path = find_nginx()
    require(shutil.which(path) is not None, "nginx (Debian package nginx)")
    return path


def test_nginx_accepts_the_generated_configuration(tmp_path, nginx, sample_topology):
    conf = tmp_path / "nginx.conf"
    servers = local_servers(sample_topology)
    conf.write_text(
        render_nginx(
            sample_topology, run_dir=str(tmp_path), listen="127.0.0.1:9080", servers=servers
        )
    )

    result = nginx_test(nginx, conf)

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_every_replica_is_an_upstream_server(sample_topology, tmp_path):
    text = render_nginx(
        sample_topology,
        run_dir=str(tmp_path),
        listen="9080",
        servers=local_servers(sample_topology),
    )

    files_upstream = re.search(r"upstream ucloud_files \{(.*?)\}", text, re.S)
    assert files_upstream is not None
    assert re.findall(r"server (\S+) ", files_upstream.group(1)) == [
        "127.0.0.1:9002",
        "127.0.0.1:9102",
    ]


def test_a_unit_without_servers_is_a_generation_error(sample_topology, tmp_path):
    with pytest.raises(ValueError, match="no upstream servers given for unit 'files'"):
        render_nginx(
            sample_topology, run_dir=str(tmp_path), listen="9080", servers={"accounts": ("a:1",)}
        )


def _seen(response):
    assert response.status_code == 200, response.text
    body = response.json()
    return body["unit"], body["path"]


@pytest.mark.parametrize(
    ("method", "path", "unit", "upstream_path"),
    [
        # Create and delete are bound to the namespace root itself.
        ("POST", "/api/files", "files", "/api/files"),
        ("DELETE", "/api/files", "files", "/api/files"),
        (
            "GET",
            "/api/files/browse?items_per_page=5",
            "files",
            "/api/files/browse?items_per_page=5",
        ),
        ("POST", "/api/accounts/login", "accounts", "/api/accounts/login"),
        # UCloud's auth paths are the accounts calls.
        ("POST", "/auth/login", "accounts", "/api/accounts/login"),
        ("GET", "/status", "accounts", "/status"),
        ("GET", "/status/files", "files", "/status"),
        ("GET", "/admin/", "accounts", "/admin/"),
        ("GET", "/api/docs/", "accounts", "/api/docs/"),
        # A namespace nobody serves goes to the admin unit, which answers the kit's 404.
        ("GET", "/api/unknown/x", "accounts", "/api/unknown/x"),
        # A prefix of a namespace is not that namespace.
        ("GET", "/api/filesystem", "accounts", "/api/filesystem"),
    ],
)
def test_paths_reach_the_unit_that_serves_them(gateway, method, path, unit, upstream_path):
    response = httpx.request(method, gateway.url + path, content=b"{}")

    assert _seen(response) in {(unit, upstream_path), (f"{unit}-1", upstream_path),
                               (f"{unit}-2", upstream_path)}  # fmt: skip


def test_requests_are_spread_over_the_replicas(gateway):
    stubs = gateway.stubs
    before = len(stubs["files-1"].requests), len(stubs["files-2"].requests)
    with httpx.Client(base_url=gateway.url) as client:
        for _ in range(6):
            client.get("/api/files/browse")

    assert len(stubs["files-1"].requests) > before[0]
    assert len(stubs["files-2"].requests) > before[1]


def test_a_clients_request_id_becomes_the_job_id(gateway):
    response = httpx.get(gateway.url + "/api/accounts/whoami", headers={"X-Request-Id": "req-42"})

    headers = response.json()["headers"]
    assert headers["Job-Id"] == "req-42"
    assert headers["X-Request-Id"] == "req-42"
    assert response.headers["X-Request-Id"] == "req-42"


def test_a_job_id_is_kept_and_one_is_made_up_when_missing(gateway):
    kept = httpx.get(gateway.url + "/status", headers={"Job-Id": "job-7"}).json()
    made_up = httpx.get(gateway.url + "/status").json()

    assert kept["headers"]["Job-Id"] == "job-7"
    assert re.fullmatch(r"[0-9a-f]{32}", made_up["headers"]["Job-Id"])


def test_proxy_headers_name_the_client_and_the_original_host(gateway):
    headers = httpx.get(gateway.url + "/status").json()["headers"]

    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["Host"] == gateway.url.removeprefix("http://")


def test_a_dead_unit_answers_502_in_json_naming_it(gateway):
    response = httpx.get(gateway.url + "/api/notifications/browse")

    assert response.status_code == 502
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "why": "Unit notifications could not be reached through the gateway",
        "error_code": "bad_gateway",
    }


def test_the_other_units_keep_serving_while_one_is_dead(gateway):
    assert httpx.get(gateway.url + "/api/notifications/browse").status_code == 502

    assert _seen(httpx.get(gateway.url + "/api/accounts/whoami"))[0] == "accounts"


def test_a_body_over_the_limit_is_refused_with_a_json_413(gateway):
    response = httpx.post(gateway.url + "/api/files", content=b"x" * (2 * 1024 * 1024))

    assert response.status_code == 413
    assert response.json()["error_code"] == "payload_too_large"


def test_static_files_are_served_from_the_static_root_with_their_type(gateway):
    asked_accounts = len(gateway.stubs["accounts"].requests)
    response = httpx.get(gateway.url + "/static/admin/base.css")

    assert response.status_code == 200
    assert response.text == "body { margin: 0 }\n"
    assert response.headers["Content-Type"] == "text/css"
    assert len(gateway.stubs["accounts"].requests) == asked_accounts
