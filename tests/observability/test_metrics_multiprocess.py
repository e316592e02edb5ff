"""`linkedin-posts serve --workers 2`: any worker's scrape shows the requests of all of them.

The real console script against a fresh database (PostgreSQL when LP_TEST_DATABASE_URL is set,
else a SQLite file). The workers share metrics through files in one directory; the test finds
the workers by those files' names (`histogram_<pid>.db`, `gauge_livesum_<pid>.db`), which is how
prometheus_client lays the directory out.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, multiprocess

from linkedin_posts.cli import WORKER_READY_SECONDS, share_metrics_dir
from tests.conftest import PG_URL, fresh_database
from tests.observability.test_metrics import Samples, parse, requests_by_route, value
from tests.ports import free_port
from tests.test_cli import CLI, PASSWORD, cli_env

WORKERS = 2
POOL_SIZE = 3
POST_ROUTE = "/v1/posts/{post_id}"
DEADLINE_SECONDS = 60

Route = tuple[str, str, str]


@pytest.fixture
async def server_database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("postgresql" if PG_URL else "sqlite", tmp_path) as url:
        yield url


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    tmp: Path  # the server's TMPDIR, where it makes its metrics directory

    def metrics_dir(self) -> Path:
        made = list(self.tmp.glob("linkedin-posts-metrics-*"))
        assert len(made) == 1, made
        return made[0]

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        # A client per request, so a new connection, which either worker may accept.
        return httpx.get(f"{self.base_url}{path}", timeout=10, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(f"{self.base_url}{path}", timeout=10, **kwargs)  # type: ignore[arg-type]

    def scrape(self) -> Samples:
        response = self.get("/metrics")
        assert response.status_code == 200, response.text
        return parse(response.text)


@pytest.fixture
def server(tmp_path: Path, server_database_url: str) -> Iterator[Server]:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = cli_env(
        server_database_url,
        LP_AUTO_MIGRATE="true",
        LP_DB_POOL_SIZE=str(POOL_SIZE),
        LP_ACCESS_LOG="false",
        PROMETHEUS_MULTIPROC_DIR=None,
        TMPDIR=str(tmp),
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", str(WORKERS), "--no-access-log"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so a failed test can stop the workers along with it.
            start_new_session=True,
        )
    try:
        yield Server(f"http://127.0.0.1:{port}", process, log_path, tmp)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def pids(directory: Path, pattern: str) -> set[int]:
    matches = (re.fullmatch(pattern, path.name) for path in directory.iterdir())
    return {int(match.group(1)) for match in matches if match}


def served_by(directory: Path) -> set[int]:
    """Workers that have answered a request (each has observed a request duration)."""
    return pids(directory, r"histogram_(\d+)\.db")


def started(directory: Path) -> set[int]:
    """Workers that have imported the app (each has its own live gauges)."""
    return pids(directory, r"gauge_livesum_(\d+)\.db")


def wait_until_serving(server: Server) -> None:
    # Polls /metrics, which the totals leave out, so the polls add nothing to compare.
    def answers() -> bool:
        try:
            return server.get("/metrics").status_code == 200
        except httpx.TransportError:
            return False

    wait_for(answers, "an answer to /metrics", server)


def wait_for(
    condition: Callable[[], bool], what: str, server: Server, seconds: float = DEADLINE_SECONDS
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s\n{server.log.read_text()}")
        try:
            # The pause between checks; returns at once if the server has died.
            server.process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"server exited with {server.process.returncode}:\n{server.log.read_text()}")


def totals(samples: Samples) -> Counter[Route]:
    # Scrapes count themselves, one response late: left out so every scrape can be compared.
    counts = requests_by_route(samples)
    return Counter({route: n for route, n in counts.items() if route[1] != "/metrics"})


def assert_every_scrape_shows(server: Server, expected: Counter[Route]) -> None:
    # A worker counts a request just after sending its response, so the first scrape may
    # come before the last count; after that, whichever worker answers, nothing may differ.
    wait_for(lambda: totals(server.scrape()) == expected, f"totals {dict(expected)}", server)
    for _ in range(8):
        assert totals(server.scrape()) == expected


def stop(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) in (0, -signal.SIGTERM), server.log.read_text()


def test_every_scrape_counts_the_requests_of_all_workers(server: Server) -> None:
    wait_until_serving(server)
    expected: Counter[Route] = Counter()
    directory = server.metrics_dir()

    email = f"mp-{uuid.uuid4().hex[:8]}@example.com"
    assert server.post("/v1/auth/register", json={"email": email, "password": PASSWORD}).is_success
    login = server.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    expected.update({("POST", "/v1/auth/register", "201"): 1, ("POST", "/v1/auth/token", "200"): 1})

    def traffic_round() -> None:
        created = server.post("/v1/posts", json={"body": "Counted"}, headers=headers)
        assert created.status_code == 201, created.text
        post_url = f"/v1/posts/{created.json()['id']}"
        for _ in range(2):
            assert server.get(post_url, headers=headers).status_code == 200
        missing = server.get(f"/v1/posts/{uuid.uuid4()}", headers=headers)
        assert missing.status_code == 404
        assert server.get(f"/no/such/{uuid.uuid4()}").status_code == 404
        expected.update(
            {
                ("POST", "/v1/posts", "201"): 1,
                ("GET", POST_ROUTE, "200"): 2,
                ("GET", POST_ROUTE, "404"): 1,
                ("GET", "<unmatched>", "404"): 1,
            }
        )

    # Rounds until both workers have answered some of them (new connections spread over them).
    rounds = 0
    while rounds < 5 or len(served_by(directory)) < WORKERS:
        traffic_round()
        rounds += 1
        assert rounds <= 200, f"one worker answered everything: {served_by(directory)}"

    assert_every_scrape_shows(server, expected)
    samples = server.scrape()
    durations = value(
        samples, "lp_http_request_duration_seconds_count", method="GET", route=POST_ROUTE
    )
    assert durations == expected[("GET", POST_ROUTE, "200")] + expected[("GET", POST_ROUTE, "404")]
    assert value(samples, "lp_db_pool_size") == WORKERS * POOL_SIZE
    build = [v for (name, _labels), v in samples.items() if name == "lp_build_info"]
    assert build == [1.0]

    stop(server)
    assert not directory.exists()


def test_a_crashed_worker_keeps_its_counts_and_leaves_the_pool_sums(server: Server) -> None:
    wait_until_serving(server)
    expected: Counter[Route] = Counter()
    directory = server.metrics_dir()

    def probe() -> None:
        assert server.get("/nothing").status_code == 404
        expected[("GET", "<unmatched>", "404")] += 1

    def both_served() -> bool:
        probe()
        return len(served_by(directory)) == WORKERS

    wait_for(both_served, "both workers answering", server)
    assert_every_scrape_shows(server, expected)
    victim = min(served_by(directory))
    workers_before = started(directory)

    # As the OOM killer would: no shutdown, so the worker cannot tidy up after itself.
    os.kill(victim, signal.SIGKILL)

    def replacement_served() -> bool:
        probe()
        return bool(served_by(directory) - workers_before)

    # uvicorn's supervisor pings each worker in turn and waits for the answer up to its health
    # check's timeout (cli.WORKER_READY_SECONDS): a worker that dies while it is waited for is
    # found dead only when that wait ends (CI, twice, on a loaded machine: no "Child process
    # died" line, and no replacement, within 60 s).
    replaced_within = WORKER_READY_SECONDS + DEADLINE_SECONDS
    wait_for(replacement_served, "a replacement worker answering", server, replaced_within)
    assert_every_scrape_shows(server, expected)
    for _ in range(4):
        # The dead worker's pool gauges are gone; its requests stay counted (above).
        assert value(server.scrape(), "lp_db_pool_size") == WORKERS * POOL_SIZE

    stop(server)
    assert not directory.exists()


def test_a_configured_metrics_directory_is_emptied_of_old_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_12345.db").write_bytes(b"values of a previous run")
    (directory / "README").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    made = share_metrics_dir(WORKERS)

    assert made is None
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory)
    assert sorted(path.name for path in directory.iterdir()) == ["README"]


def test_one_worker_needs_no_metrics_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)

    assert share_metrics_dir(1) is None
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


FORK_CHILD = """
import os, sys
from linkedin_posts.observability import metrics
metrics.HTTP_REQUESTS_SHED.inc()
child = os.fork()
if child == 0:
    metrics.HTTP_REQUESTS_SHED.inc(5)
    os._exit(0)
os.waitpid(child, 0)
metrics.HTTP_REQUESTS_SHED.inc()
print(os.getpid(), child)
"""


def test_a_forked_process_counts_in_its_own_file(tmp_path: Path) -> None:
    """The pid the metrics keep in memory (observability/metrics.py) follows a fork."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", FORK_CHILD], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    parent, child = result.stdout.split()
    assert sorted(p.name for p in tmp_path.glob("counter_*.db")) == sorted(
        [f"counter_{parent}.db", f"counter_{child}.db"]
    )
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(tmp_path))  # type: ignore[no-untyped-call]
    assert registry.get_sample_value("lp_http_requests_shed_total") == 7
