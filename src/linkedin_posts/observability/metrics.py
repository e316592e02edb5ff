"""Prometheus metrics: module-level constants, labelled by route template, never by raw path or id.

Later parts add theirs here in the same style, `lp_<thing>_total` / `lp_<thing>_seconds`:
rate limits (`lp_ratelimit_*`), cache levels (`lp_cache_*`), LLM providers (`lp_llm_*`) and
jobs (`lp_jobs_*`).
"""

from prometheus_client import Counter, Gauge, Histogram

# Methods outside this set share one label value, so a client cannot mint label values.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The label for requests no route matched (404s, scanners): their raw paths never become labels.
UNMATCHED_ROUTE = "<unmatched>"

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


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "OTHER"


# --- stubs, to be replaced ---
from fastapi import APIRouter  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

router = APIRouter()


def instrument_pool(engine: AsyncEngine) -> None:
    pass


def process_stopped() -> None:
    pass
