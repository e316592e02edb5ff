"""Tracing and error reporting are off unless configured, and traces reach an OTLP collector.

The collector is a real HTTP server on loopback that decodes OTLP/HTTP protobuf, the wire format
every OpenTelemetry collector speaks, so the real exporter code runs.
"""

import gzip
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli
import httpx
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.ports import free_port
from tests.test_cli import CLI, PASSWORD, cli_env, wait_until_serving


class Collector:
    """Collects the spans exported to it: (trace id hex, span name) pairs."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                export = ExportTraceServiceRequest()
                export.ParseFromString(body)
                with collector.lock:
                    for resource in export.resource_spans:
                        for scope in resource.scope_spans:
                            collector.spans += [(s.trace_id.hex(), s.name) for s in scope.spans]
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def names_in(self, trace_id: str) -> set[str]:
        with self.lock:
            return {name for trace, name in self.spans if trace == trace_id}


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    yield collector
    collector.server.shutdown()


def test_no_tracing_or_sentry_package_is_imported_when_unconfigured(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from linkedin_posts.main import create_app\n"
        "create_app()\n"
        "loaded = [m for m in sys.modules if m.startswith(("
        "'opentelemetry.instrumentation', 'opentelemetry.exporter', 'sentry_sdk'))]\n"
        "print(loaded)\n"
    )
    env = cli_env(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_request_is_traced_and_its_log_lines_carry_the_trace_id(
    tmp_path: Path, collector: Collector
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = cli_env(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        LP_LOG_FORMAT="json",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_BSP_SCHEDULE_DELAY="100",  # export within 0.1 s instead of 5 s
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
    try:
        wait_until_serving(base_url, process, log_path)
        registered = httpx.post(
            f"{base_url}/v1/auth/register",
            json={"email": "traced@example.com", "password": PASSWORD},
            headers={"X-Request-ID": "traced-request"},
            timeout=10,
        )
        assert registered.status_code == 201, registered.text

        access = _wait_for_access_line(log_path, "traced-request")
        trace_id = access["trace_id"]
        deadline = time.monotonic() + 20
        # The request's own span, and the SQL it ran (SQLAlchemy names spans by statement).
        while not (
            "POST /v1/auth/register" in (names := collector.names_in(trace_id))
            and any(name.startswith(("INSERT", "SELECT")) for name in names)
        ):
            assert time.monotonic() < deadline, f"spans of {trace_id}: {collector.spans}"
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_hot_reads_on_postgresql_are_traced_too(
    tmp_path: Path, collector: Collector, backend: str, migrated_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("the hot reads bypass SQLAlchemy only on PostgreSQL")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = cli_env(
        migrated_url,
        LP_LOG_FORMAT="json",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
    try:
        wait_until_serving(base_url, process, log_path)
        email = f"traced-{free_port()}@example.com"
        account = {"email": email, "password": PASSWORD}
        assert httpx.post(f"{base_url}/v1/auth/register", json=account, timeout=10).is_success
        token = httpx.post(
            f"{base_url}/v1/auth/token",
            data={"username": email, "password": PASSWORD},
            timeout=10,
        ).json()["access_token"]
        me = httpx.get(
            f"{base_url}/v1/users/me",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "traced-read"},
            timeout=10,
        )
        assert me.status_code == 200, me.text

        trace_id = _wait_for_access_line(log_path, "traced-read")["trace_id"]
        deadline = time.monotonic() + 20
        # The only SQL of GET /v1/users/me is the reader's, which asyncpg's instrumentation names.
        while not (
            "GET /v1/users/me" in (names := collector.names_in(trace_id)) and "SELECT" in names
        ):
            assert time.monotonic() < deadline, f"spans of {trace_id}: {collector.spans}"
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for_access_line(log_path: Path, request_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while True:
        for line in log_path.read_text().splitlines():
            if line.startswith("{") and request_id in line:
                parsed: dict[str, object] = orjson.loads(line)
                if parsed.get("logger") == "linkedin_posts.access":
                    return parsed
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.05)


SENTRY_SCRIPT = """
import asyncio, sys
import httpx
from linkedin_posts.config import Settings
from linkedin_posts.main import create_app

app = create_app(Settings(_env_file=None, database_url=sys.argv[1], sentry_dsn=sys.argv[2]))

@app.get("/boom")
async def boom():
    raise RuntimeError("sentry-visible failure")

async def main():
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        print((await client.get("/boom")).status_code)

asyncio.run(main())
import sentry_sdk
sentry_sdk.flush(timeout=10)
"""


class SentryIngest:
    """A loopback stand-in for Sentry's ingest endpoint: records the envelopes posted to it."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        ingest = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                # sentry-sdk sends brotli when the brotli package is installed, else gzip.
                encoding = self.headers.get("Content-Encoding")
                if encoding == "br":
                    body = brotli.decompress(body)
                elif encoding == "gzip":
                    body = gzip.decompress(body)
                ingest.envelopes.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://public@127.0.0.1:{self.server.server_address[1]}/1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_an_unhandled_error_reaches_sentry_when_configured(tmp_path: Path) -> None:
    ingest = SentryIngest()
    try:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
        result = subprocess.run(
            [sys.executable, "-c", SENTRY_SCRIPT, database_url, ingest.dsn],
            env=cli_env(database_url),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        ingest.server.shutdown()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "500"
    events = b"".join(ingest.envelopes)
    assert b"sentry-visible failure" in events
    assert b"RuntimeError" in events
