"""Request metrics are tallied as plain numbers and added to Prometheus's values in batches
(metrics.count_request, flush_requests): what a scrape shows must be what observing each request
would have shown, and a flush running beside the counting must lose no request."""

import random
import threading
import uuid

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from linkedin_posts.observability import metrics


def samples(registry: CollectorRegistry, name: str, route: str) -> dict[tuple[str, str], float]:
    """The histogram's samples for one route: (sample name, le) to value."""
    return {
        (sample.name, sample.labels.get("le", "")): sample.value
        for family in registry.collect()
        if family.name == name
        for sample in family.samples
        if sample.labels.get("route") == route and not sample.name.endswith("_created")
    }


def test_a_scrape_shows_what_observing_each_request_would() -> None:
    route = f"/test/{uuid.uuid4()}"  # labels no other test uses
    reference_registry = CollectorRegistry()
    reference = Histogram(
        "lp_http_request_duration_seconds",
        "the same buckets, observed one by one",
        ["method", "route"],
        buckets=metrics.HTTP_REQUEST_SECONDS._kwargs["buckets"],
        registry=reference_registry,
    )
    rng = random.Random(11)
    # Every bucket, their exact bounds (a bound is in its own bucket) and beyond the last.
    durations = [rng.choice([0.0, 0.001, 0.0025, 10.0, 30.0]) for _ in range(50)]
    durations += [rng.uniform(0, 12) ** 3 / 100 for _ in range(500)]
    for seconds in durations:
        metrics.count_request("GET", route, 200, seconds)
        reference.labels("GET", route).observe(seconds)

    shown = samples(REGISTRY, "lp_http_request_duration_seconds", route)  # collecting flushes
    expected = samples(reference_registry, "lp_http_request_duration_seconds", route)
    assert shown.keys() == expected.keys()
    for key, value in expected.items():
        if key[0].endswith("_sum"):
            assert shown[key] == pytest.approx(value)  # added in batches: rounded otherwise
        else:
            assert shown[key] == value, key
    labels = {"method": "GET", "route": route, "status": "200"}
    assert REGISTRY.get_sample_value("lp_http_requests_total", labels) == len(durations)

    # What was flushed is not added again; what came since is.
    metrics.count_request("GET", route, 200, 0.003)
    assert REGISTRY.get_sample_value("lp_http_requests_total", labels) == len(durations) + 1


def test_a_flush_beside_the_counting_loses_no_request() -> None:
    route = f"/test/{uuid.uuid4()}"
    labels = {"method": "GET", "route": route, "status": "200"}
    stop = threading.Event()

    def flush_all_the_time() -> None:
        while not stop.is_set():
            metrics.flush_requests()

    flusher = threading.Thread(target=flush_all_the_time)
    flusher.start()
    try:
        for n in range(200_000):
            metrics.count_request("GET", route, 200, (n % 7) / 1000)
    finally:
        stop.set()
        flusher.join()
    assert REGISTRY.get_sample_value("lp_http_requests_total", labels) == 200_000
    bucket = {"method": "GET", "route": route, "le": "+Inf"}
    assert REGISTRY.get_sample_value("lp_http_request_duration_seconds_bucket", bucket) == 200_000
