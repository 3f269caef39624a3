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
from tests.ucloud.deploy.conftest import Gateway, StubUnit, nginx_test, sample_data
from ucloud.deploy.nginx import gateway_server_names, local_servers, render_nginx
from ucloud.deploy.processes import find_nginx, root_user
from ucloud.deploy.topology import parse_topology
from ucloud.testing.ports import free_port


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
            listen=f"127.0.0.1:{port}",
            servers=servers,
            server_names=gateway_server_names(topology),
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
            sample_topology,
            listen="127.0.0.1:9080",
            servers=servers,
            server_names=gateway_server_names(sample_topology),
        )
    )

    result = nginx_test(nginx, conf)

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_every_replica_is_an_upstream_server(sample_topology, tmp_path):
    text = render_nginx(sample_topology, listen="9080", servers=local_servers(sample_topology))

    files_upstream = re.search(r"upstream ucloud_files \{(.*?)\}", text, re.S)
    assert files_upstream is not None
    assert re.findall(r"server (\S+) ", files_upstream.group(1)) == [
        "127.0.0.1:9002",
        "127.0.0.1:9102",
    ]


def test_a_unit_without_servers_is_a_generation_error(sample_topology, tmp_path):
    with pytest.raises(ValueError, match="no upstream servers given for unit 'files'"):
        render_nginx(sample_topology, listen="9080", servers={"accounts": ("a:1",)})


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


def test_paths_are_relative_to_the_prefix_and_no_user_is_set_unless_asked(sample_topology):
    text = render_nginx(sample_topology, listen="9080", servers=local_servers(sample_topology))

    assert "\npid nginx.pid;\n" in text
    assert "error_log nginx-error.log warn;" in text
    assert "client_body_temp_path nginx-client-temp;" in text
    assert not re.search(r"^\s*user ", text, re.M)
    assert not re.search(r" /(tmp|srv|work|home|root)/", text)
    asked = render_nginx(sample_topology, listen="9080", servers=local_servers(sample_topology),
                         user="www-data")  # fmt: skip
    assert "\nuser www-data;\n" in asked


def test_the_server_names_are_the_topologys_hosts_and_loopback(sample_topology):
    names = gateway_server_names(sample_topology)
    text = render_nginx(sample_topology, listen="9080", servers=local_servers(sample_topology),
                        server_names=names)  # fmt: skip

    assert names == ("ucloud.example.com", "api.example.com", "127.0.0.1", "localhost")
    assert "server_name ucloud.example.com api.example.com 127.0.0.1 localhost;" in text
    assert "listen 9080 default_server;" in text


def test_an_unknown_host_gets_a_json_400_and_a_known_one_passes(gateway):
    unknown = httpx.get(gateway.url + "/status", headers={"Host": "evil.example.net"})
    known = httpx.get(gateway.url + "/status", headers={"Host": "api.example.com"})

    assert unknown.status_code == 400
    assert unknown.json() == {
        "why": "The gateway does not serve this host",
        "error_code": "unknown_host",
    }
    assert _seen(known) == ("accounts", "/status")


def test_the_gateway_answers_its_own_health_without_asking_a_unit(gateway):
    asked = sum(len(stub.requests) for stub in gateway.stubs.values())
    response = httpx.get(gateway.url + "/status/gateway")

    assert (response.status_code, response.json()) == (200, {"status": "ok", "unit": "gateway"})
    assert sum(len(stub.requests) for stub in gateway.stubs.values()) == asked


@pytest.mark.parametrize("path", ["/api/accounts/login", "/auth/login"])
def test_login_attempts_beyond_the_rate_get_a_json_429_with_retry_after(
    tmp_path, nginx_binary, sample_topology, path
):
    # A gateway of its own: the module's must not run out of login attempts.
    accounts = StubUnit("accounts")
    port = free_port()
    conf = tmp_path / "nginx.conf"
    servers = {"accounts": (accounts.address,), "files": ("127.0.0.1:9",),
               "notifications": ("127.0.0.1:9",)}  # fmt: skip
    conf.write_text(render_nginx(sample_topology, listen=f"127.0.0.1:{port}", servers=servers,
                                 user=root_user()))  # fmt: skip
    running = Gateway(nginx_binary, conf, port)
    try:
        with httpx.Client(base_url=running.url) as client:
            # 10r/m with a burst of 5: the first six pass at once, not the next.
            answers = [client.post(path, content=b"{}") for _ in range(8)]
    finally:
        running.stop()
        accounts.close()

    assert [a.status_code for a in answers] == [200] * 6 + [429] * 2
    assert answers[-1].json()["error_code"] == "throttled"
    assert answers[-1].headers["Retry-After"] == "6"
    assert {r["path"] for r in accounts.requests} == {"/api/accounts/login"}
