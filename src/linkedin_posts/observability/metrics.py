"""Prometheus metrics: module-level constants, labelled by route template, never by raw path or id.

Later parts add theirs here in the same style, `lp_<thing>_total` / `lp_<thing>_seconds`:
rate limits (`lp_ratelimit_*`), cache levels (`lp_cache_*`), LLM providers (`lp_llm_*`) and
jobs (`lp_jobs_*`).

With several worker processes (`linkedin-posts serve --workers N`) the CLI points
PROMETHEUS_MULTIPROC_DIR at one empty directory before the workers start; every process then
writes its values there and a scrape of any worker sums them. A gauge therefore needs a
`multiprocess_mode`: `livesum` for amounts that add up over the running processes. Such a
scrape has no process_* or python_* metrics: those describe one process only.
"""

import asyncio
import bisect
import hmac
import os
import platform
import re
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, Pool, QueuePool

from linkedin_posts import __version__, errors
from linkedin_posts.config import Settings
from linkedin_posts.protection.client_ip import peer_address

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _cache_process_id() -> None:
    """With several workers, let every metric update read the pid from memory, not the kernel.

    prometheus_client's per-process values call os.getpid() on each update to notice a fork,
    and glibc makes that a system call: with seven updates a cached read, a measurable share
    of its CPU (docs/benchmarks.md). The pid changes only across a fork, where
    os.register_at_fork refreshes it, so each update still sees the right one.
    """
    if not os.environ.get(MULTIPROC_DIR_ENV):
        return
    pid = [os.getpid()]

    def refresh() -> None:
        pid[0] = os.getpid()

    os.register_at_fork(after_in_child=refresh)
    # Before any metric is made: each takes its value class when it is created.
    values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=lambda: pid[0]
    )


_cache_process_id()

# Methods outside this set share one label value, so a client cannot mint label values.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The label for requests no route matched (404s, scanners): their raw paths never become labels.
UNMATCHED_ROUTE = "<unmatched>"


class _FlushBeforeCollecting(Collector):
    """Registered before the request metrics, so a collection of REGISTRY sees every request."""

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> list[Metric]:
        flush_requests()
        return []


# Before the request metrics' own registration: collectors run in the order they registered.
REGISTRY.register(_FlushBeforeCollecting())
HTTP_REQUESTS = Counter(
    "lp_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "lp_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_REQUESTS_IN_FLIGHT = Gauge(
    "lp_http_requests_in_flight",
    "Requests being handled now.",
    multiprocess_mode="livesum",
)
HTTP_REQUESTS_SHED = Counter(
    "lp_http_requests_shed_total",
    "Requests answered 503 overloaded because the process was at LP_MAX_IN_FLIGHT.",
)
HTTP_REQUEST_HEADS_REFUSED = Counter(
    "lp_http_request_heads_refused_total",
    "Requests refused before their headers were read: too_large, timeout or malformed.",
    ["reason"],
)

DB_POOL_IN_USE = Gauge(
    "lp_db_pool_connections_in_use",
    "Database connections checked out of the pools of the running processes.",
    multiprocess_mode="livesum",
)
DB_POOL_OVERFLOW = Gauge(
    "lp_db_pool_overflow",
    "Connections open beyond the pool size (LP_DB_POOL_MAX_OVERFLOW), over the running processes.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "lp_db_pool_size",
    "Connections the pools keep (LP_DB_POOL_SIZE times the running processes).",
    multiprocess_mode="livesum",
)

# The read replica (LP_DATABASE_READ_URL, replica.py). A read it may serve is counted once: in
# the first counter when it ran where it was sent, in the second when the replica could not
# serve it. Their sum is every such read; the replica's share is database="replica".
DB_READ_ROUTES = Counter(
    "lp_db_read_routes_total",
    "Reads the replica may serve (posts missing from the cache, exports), by where they ran: "
    "database=replica, or database=primary with reason recent_write (the account wrote within "
    "LP_DATABASE_READ_AFTER_WRITE_SECONDS) or redis_unavailable (Redis could not say).",
    ["database", "reason"],
)
DB_READ_FALLBACKS = Counter(
    "lp_db_read_fallbacks_total",
    "Reads meant for the replica that ran on the primary, by reason: error (the replica failed "
    "under the read), down (known unreachable), behind (lagging more than the window).",
    ["reason"],
)
DB_REPLICA_DOWN = Gauge(
    "lp_db_replica_down",
    "1 while a process cannot use the replica: unreachable, or not a standby.",
    multiprocess_mode="livemax",
)
DB_REPLICA_LAG_SECONDS = Gauge(
    "lp_db_replica_lag_seconds",
    "How far behind the primary the replica may be, as a process's last probe found: the age of "
    "the newest moment all of whose commits it has replayed.",
    multiprocess_mode="livemax",
)

RATELIMIT_REJECTED = Counter(
    "lp_ratelimit_rejected_total",
    "Requests refused 429 by a rate limit, by route class (auth, read, write, ai, global).",
    ["route_class"],
)
RATELIMIT_LOCAL_DECISIONS = Counter(
    "lp_ratelimit_local_decisions_total",
    "Rate-limit decisions taken on this process's own counters because Redis was unreachable.",
)
RATELIMIT_REDIS_DOWN = Gauge(
    "lp_ratelimit_redis_down",
    "1 while a process enforces rate limits on its own counters because Redis is unreachable.",
    multiprocess_mode="livemax",
)

CACHE_REQUESTS = Counter(
    "lp_cache_requests_total",
    "Cache lookups by level (l1 memory, l2 Redis) and result (hit, miss, unavailable).",
    ["level", "result"],
)
CACHE_INVALIDATIONS = Counter(
    "lp_cache_invalidations_total",
    "Cache keys dropped after a write, by source (local: this process's write, remote: another's).",
    ["source"],
)
CACHE_REDIS_DOWN = Gauge(
    "lp_cache_redis_down",
    "1 while a process serves without its Redis cache level because Redis is unreachable.",
    multiprocess_mode="livemax",
)

ANALYSIS_SECONDS = Histogram(
    "lp_analysis_duration_seconds",
    "Time to analyse one text that no cache level held, queueing for its pool included, by pool"
    " (thread or process).",
    # Labelled, so a process writes its file only once it has analysed something.
    ["executor"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

LLM_REQUESTS = Counter(
    "lp_llm_requests_total",
    "Calls to the AI provider, retries each counted, by provider and outcome (ok, or the error"
    " code a client would see: ai_provider_timeout, ai_provider_rate_limited, ...).",
    ["provider", "outcome"],
)
LLM_REQUEST_SECONDS = Histogram(
    "lp_llm_request_duration_seconds",
    "Time of one call to the AI provider (a stream: until its last piece), by provider.",
    ["provider"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
LLM_TOKENS = Counter(
    "lp_llm_tokens_total",
    "Tokens the AI provider reported, by provider and kind (prompt or completion).",
    ["provider", "kind"],
)
LLM_CIRCUIT_OPEN = Gauge(
    "lp_llm_circuit_open",
    "1 while a process's circuit breaker keeps calls away from the provider (open or half-open).",
    ["provider"],
    multiprocess_mode="livemax",
)

JOB_ANNOUNCEMENTS = Counter(
    "lp_job_announcements_total",
    "Announcements of jobs on the Redis job queue, by outcome (sent, failed, received).",
    ["outcome"],
)

JOB_ITEMS = Counter(
    "lp_job_items_total",
    "Bulk-job items a runner finished or put back for a retry, by job kind and outcome "
    "(succeeded, failed, retried).",
    ["kind", "outcome"],
)

# Always 1; the labels carry the information. `livemax` keeps it 1 however many workers run
# (`livesum` would count workers, `all` would add a pid label per worker) and, being a live
# mode, drops a stopped worker's labels, so a worker restarted after an upgrade in place does
# not leave the old version showing next to the new one.
BUILD_INFO = Gauge(
    "lp_build_info",
    "The running version of the service and of Python (always 1).",
    ["version", "python"],
    multiprocess_mode="livemax",
)
BUILD_INFO.labels(__version__, platform.python_version()).set(1)

# Later parts add their metrics here, above the functions, in the style above (module-level
# constants, bounded label values, a `multiprocess_mode` on every gauge). deploy/ (alerts and
# dashboard) already uses these names; tests/test_deploy_observability.py lists them in LATER
# until they are exported:
#   cache levels   lp_cache_requests_total{level,result}           result="hit" for a hit
#   jobs           lp_jobs_*


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "OTHER"


class _RequestTally:
    """One (method, route, status)'s requests in this process, as plain numbers.

    prometheus_client takes a lock for each value it updates, and a histogram walks its buckets
    in Python: three locked updates per request, ~8% of a cached read's instructions
    (docs/benchmarks.md). Requests are tallied here instead, and `flush_requests` adds what
    is new to the Prometheus metrics, before every collection and every second.

    Only the counting thread (the event loop's) writes the counts, and only `flush_requests`
    (under its lock) `flushed`, what it has added so far: a flush from another thread (a scrape's)
    adds the difference and never loses a request, even one counted while it runs.
    """

    __slots__ = ("buckets", "count", "counter", "flushed", "histogram", "seconds")

    def __init__(self, method: str, route: str, status: int) -> None:
        self.counter = HTTP_REQUESTS.labels(method, route, str(status))
        self.histogram = HTTP_REQUEST_SECONDS.labels(method, route)
        self.count = 0
        self.seconds = 0.0
        # Observations per bucket, not cumulative, as the histogram keeps them.
        self.buckets = [0] * len(_REQUEST_BOUNDS)
        self.flushed: tuple[int, float, list[int]] = (0, 0.0, [0] * len(self.buckets))


# With several workers, how often each adds its tallies to the values a scrape reads.
FLUSH_SECONDS = 1.0
# Bounded like the labels: known methods x routes x statuses.
_tallies: dict[tuple[str, str, int], _RequestTally] = {}
_REQUEST_BOUNDS: list[float] = HTTP_REQUEST_SECONDS._upper_bounds
_flush_lock = threading.Lock()


def count_request(method: str, route: str, status: int, seconds: float) -> None:
    tally = _tallies.get((method, route, status))
    if tally is None:
        tally = _tallies[(method, route, status)] = _RequestTally(method, route, status)
    tally.count += 1
    tally.seconds += seconds
    # The first bucket whose bound is at least `seconds`, as Histogram.observe picks it.
    tally.buckets[bisect.bisect_left(_REQUEST_BOUNDS, seconds)] += 1


def flush_requests() -> None:
    """Add the requests counted since the last flush to lp_http_requests_total and
    lp_http_request_duration_seconds."""
    with _flush_lock:
        for tally in list(_tallies.values()):
            count, seconds, buckets = tally.count, tally.seconds, list(tally.buckets)
            flushed_count, flushed_seconds, flushed_buckets = tally.flushed
            if count == flushed_count:
                continue
            tally.counter.inc(count - flushed_count)
            tally.histogram._sum.inc(seconds - flushed_seconds)
            for value, now, before in zip(
                tally.histogram._buckets, buckets, flushed_buckets, strict=True
            ):
                if now != before:
                    value.inc(now - before)
            tally.flushed = (count, seconds, buckets)


async def flush_requests_every(seconds: float) -> None:
    """With several workers: a scrape reads every process's values, not its tallies."""
    while True:
        await asyncio.sleep(seconds)
        flush_requests()


# --- pool gauges ---------------------------------------------------------------------------


def instrument_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges current as connections are checked out and returned."""
    sync_engine = engine.sync_engine
    # Startup of a worker, so also the moment to clean up after a worker that crashed.
    forget_dead_processes()

    # Read through the engine: engine.dispose() swaps in a new pool that keeps these listeners.
    def on_checkout(_dbapi: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
        _observe_pool(sync_engine.pool, returning=False)

    def on_checkin(_dbapi: Any, _record: ConnectionPoolEntry) -> None:
        # A connection invalidated while in use, or a failed checkout, ends here too.
        _observe_pool(sync_engine.pool, returning=True)

    def on_detach(_dbapi: Any, _record: ConnectionPoolEntry) -> None:
        _observe_pool(sync_engine.pool, returning=False)

    def on_dispose(_conn: Any) -> None:
        _observe_pool(sync_engine.pool, returning=False)

    event.listen(sync_engine, "checkout", on_checkout)
    event.listen(sync_engine, "checkin", on_checkin)
    event.listen(sync_engine, "detach", on_detach)
    event.listen(sync_engine, "engine_disposed", on_dispose)
    _observe_pool(sync_engine.pool, returning=False)


def _observe_pool(pool: Pool, *, returning: bool) -> None:
    if not isinstance(pool, QueuePool):
        return
    in_use = pool.checkedout()
    overflow = pool.overflow()  # negative while the pool has not opened pool_size connections
    if returning:
        # "checkin" fires before the pool takes the connection back, which it then queues,
        # or closes as overflow when the queue is already full.
        in_use -= 1
        if pool.checkedin() >= pool.size():
            overflow -= 1
    # A pool disposed of while connections were out counts them oddly until they come back.
    DB_POOL_IN_USE.set(max(0, in_use))
    DB_POOL_OVERFLOW.set(max(0, overflow))
    DB_POOL_SIZE.set(pool.size())


# --- multiprocess bookkeeping --------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_ENV) or None


def process_stopped() -> None:
    """Take this process's live gauges out of the sums; counters and histograms stay."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")


def forget_dead_processes() -> None:
    """Drop the live gauges of workers that died without shutting down (SIGKILL, OOM killer).

    uvicorn replaces such a worker, and the replacement cleans up after it here, so a crashed
    worker's connections in use do not stay in `lp_db_pool_connections_in_use` forever.
    """
    directory = multiprocess_dir()
    if not directory:
        return
    pids = {
        int(m.group(1))
        for p in Path(directory).iterdir()
        if (m := _LIVE_GAUGE_FILE.fullmatch(p.name))
    }
    for pid in pids - {os.getpid()}:
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the scrape endpoint -------------------------------------------------------------------


class MetricsForbidden(errors.Forbidden):
    code = "metrics_forbidden"


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def scrape(request: Request) -> Response:
    """The metrics of every process of this server, in the Prometheus text format."""
    # A plain `def`: FastAPI runs it in a thread, and in multiprocess mode collecting reads a
    # file per process and metric type.
    if not may_scrape(request, request.app.state.settings):
        raise MetricsForbidden("Metrics are served to allowed networks or with the metrics token.")
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY  # which flushes this process's tallies as it collects
    flush_requests()  # this process's: the others' are at most FLUSH_SECONDS old
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def may_scrape(request: Request, settings: Settings) -> bool:
    return _peer_allowed(request, settings) or _has_token(request, settings)


def _peer_allowed(request: Request, settings: Settings) -> bool:
    # The direct peer only: X-Forwarded-For is whatever the client wants it to be.
    peer = peer_address(request.scope)
    return peer is not None and any(peer in network for network in settings.metrics_allow)


def _has_token(request: Request, settings: Settings) -> bool:
    if settings.metrics_token is None or not settings.metrics_token.get_secret_value():
        return False
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), expected
    )
