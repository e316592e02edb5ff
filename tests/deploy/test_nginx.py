"""deploy/nginx.conf: nginx accepts it, and it fits the API and compose.yaml it sits between."""

import json
import re
import subprocess
import uuid
from pathlib import Path

import uvicorn

from linkedin_posts.config import Settings
from linkedin_posts.jobs.router import EVENTS_KEEPALIVE_SECONDS
from tests.deploy.files import (
    Directive,
    answers_get,
    compose,
    nginx_conf,
    parse_command,
    parse_nginx,
    seconds,
    settings_from,
    size_bytes,
)
from tests.ports import free_port
from tests.scaleout.cluster import render_nginx_conf

DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]


def http() -> Directive:
    return parse_nginx(nginx_conf()).one("http")


def locations() -> dict[str, Directive]:
    return {" ".join(loc.args): loc for loc in http().one("server").all("location")}


def test_nginx_accepts_the_configuration(nginx: str, tmp_path: Path) -> None:
    # The upstream names resolve only on compose's network: loopback stands in for them, as in
    # the scale-out test, which runs this same rendering.
    rendered = render_nginx_conf([(free_port(), False), (free_port(), True)], free_port())
    config = tmp_path / "nginx.conf"
    config.write_text(rendered)
    pid = f"pid {tmp_path / 'nginx.pid'};"

    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(config), "-e", "stderr", "-g", pid],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_the_upstream_is_the_api_services_of_compose() -> None:
    servers = http().one("upstream").all("server")
    hosts = {server.args[0].rsplit(":", 1)[0] for server in servers}
    ports = {server.args[0].rsplit(":", 1)[1] for server in servers}
    services = compose()["services"]

    assert hosts <= set(services), f"nginx names services compose lacks: {hosts - set(services)}"
    for host in hosts:
        command = services[host]["command"]
        assert command[:2] == ["linkedin-posts", "serve"], host
        assert command[command.index("--port") + 1] in ports, host


def test_nginx_listens_on_the_port_compose_publishes() -> None:
    (listen,) = http().one("server").one("listen").args
    published = compose()["services"]["nginx"]["ports"]

    assert [port.rsplit(":", 1)[1] for port in published] == [listen]


def test_upstream_connections_are_kept_alive_and_balanced_by_load() -> None:
    upstream = http().one("upstream")

    assert upstream.all("least_conn")
    assert int(upstream.value("keepalive")) > 0
    # Without HTTP/1.1 and an empty Connection header nginx closes every upstream connection
    # after one request, whatever `keepalive` says.
    # nginx must drop an idle connection before the instance does (uvicorn's keep-alive), or it
    # may send a request down one the instance is closing, and a POST lost so is not resent.
    assert seconds(upstream.value("keepalive_timeout")) < uvicorn.Config("").timeout_keep_alive
    for path, location in locations().items():
        if location.all("return"):
            continue  # answered by nginx itself (/metrics: Prometheus scrapes each instance)
        assert location.value("proxy_pass") == "http://api", path
        assert location.value("proxy_http_version") == "1.1", path
        headers = {h.args[0]: " ".join(h.args[1:]) for h in location.all("proxy_set_header")}
        assert headers.get("Connection") == "", path
        # The API reads the client's address from here (LP_TRUSTED_PROXIES names this nginx).
        assert headers.get("X-Forwarded-For") == "$proxy_add_x_forwarded_for", path


def test_nginx_waits_longer_than_the_api_deadline() -> None:
    # The API answers 504 problem+json at its deadline; nginx's own 504 would be an HTML page.
    default = locations()["/"]

    assert seconds(default.value("proxy_read_timeout")) > DEFAULTS.request_timeout_seconds
    assert seconds(default.value("proxy_send_timeout")) > DEFAULTS.request_timeout_seconds


def test_job_event_streams_pass_unbuffered_and_stay_open() -> None:
    (pattern,) = [path for path in locations() if path.startswith("~ ")]
    stream = locations()[pattern]
    regex = re.compile(pattern.removeprefix("~ "))
    job = uuid.uuid4()

    assert answers_get(f"/v1/jobs/{job}/events")
    assert regex.search(f"/v1/jobs/{job}/events")
    assert not regex.search(f"/v1/jobs/{job}")
    assert not regex.search(f"/v1/jobs/{job}/items")
    assert stream.value("proxy_buffering") == "off"
    # The stream sends a keep-alive comment every EVENTS_KEEPALIVE_SECONDS: the read timeout
    # must outlast the pause between two of them.
    assert seconds(stream.value("proxy_read_timeout")) > 2 * EVENTS_KEEPALIVE_SECONDS


def test_job_uploads_up_to_the_api_cap_reach_the_api() -> None:
    cap = size_bytes(http().one("server").value("client_max_body_size"))

    assert cap > DEFAULTS.jobs_max_body_bytes


def test_request_heads_the_api_accepts_pass_nginx_in_the_same_time() -> None:
    server = http().one("server")
    count, size = server.value("large_client_header_buffers").split()
    # One header line may be as long as the API's whole cap, and the head no shorter.
    assert size_bytes(size) >= DEFAULTS.max_header_bytes
    assert int(count) * size_bytes(size) >= DEFAULTS.max_header_bytes
    assert seconds(server.value("client_header_timeout")) == DEFAULTS.header_timeout_seconds


def test_nginx_sheds_where_the_api_processes_together_would() -> None:
    # nginx's cap on requests in flight is the API processes' own caps added up: lower, it
    # refuses what they could serve; higher, they refuse it themselves, at a worker's cost.
    cap = int(locations()["/"].value("limit_conn").split()[1])
    services = compose()["services"]
    hosts = {server.args[0].rsplit(":", 1)[0] for server in http().one("upstream").all("server")}
    total = 0
    for host in hosts:
        service = services[host]
        processes = parse_command(service["command"]).workers
        settings = settings_from(
            {k: str(v) for k, v in service["environment"].items() if k.startswith("LP_")}
        )
        total += processes * settings.max_in_flight

    assert cap == total
    # nginx's refusal is the API's own: 503 `overloaded` as problem+json, with Retry-After.
    overloaded = locations()["@overloaded"]
    status, body = overloaded.value("return").split(" ", 1)
    assert status == "503"
    problem = json.loads(body.strip("'"))
    assert problem["code"] == "overloaded"
    assert problem["status"] == 503
    assert overloaded.value("default_type") == "application/problem+json"
