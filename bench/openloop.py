"""An open-loop HTTP/1.1 load generator: a fixed request rate over many kept-alive connections.

wrk, h2load and hey send a connection's next request only once its previous answer is in, so a
server that slows down also slows its load down. Here request n leaves at start + n / rate on
whichever connection is idle, whatever the server does, and its latency counts from that
scheduled time, so a stalled server cannot hide its stall (no coordinated omission). Latencies
are kept per status, to tell the admitted requests (2xx) from the refused ones (503, 429).

One process, uvloop, a C parser (httptools), prebuilt request bytes: 50-70 µs of CPU per
request, about what wrk costs with bench/scenarios.lua, so it takes no more of the 2 CPUs.
"""

import asyncio
import contextlib
import gc
import math
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
import uvloop

SAMPLES_PER_STATUS = 3


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (0 when there are none)."""
    if not values:
        return 0.0
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))]


def summary(latencies_ms: list[float]) -> dict[str, float]:
    values = sorted(latencies_ms)
    return {
        "count": len(values),
        **{f"p{q}_ms": round(percentile(values, q), 2) for q in (50, 90, 99)},
        "max_ms": round(values[-1], 2) if values else 0.0,
    }


def by_status(answers: list[tuple[float, int, float]]) -> dict[str, dict[str, float]]:
    latencies: dict[int, list[float]] = {}
    for _, status, ms in answers:
        latencies.setdefault(status, []).append(ms)
    return {str(code): summary(values) for code, values in sorted(latencies.items())}


def timeline(
    answers: list[tuple[float, int, float]], started: float, duration: float
) -> list[dict[str, Any]]:
    """Per second of the run (by when each request was due): answers and worst latency by status."""
    seconds: list[dict[str, Any]] = [{"second": s} for s in range(math.ceil(duration))]
    for due, status, ms in answers:
        row = seconds[min(len(seconds) - 1, int(due - started))]
        row[str(status)] = row.get(str(status), 0) + 1
        row[f"{status}_max_ms"] = round(max(row.get(f"{status}_max_ms", 0.0), ms), 1)
    return seconds


@dataclass
class Tally:
    answers: list[tuple[float, int, float]] = field(default_factory=list)  # due, status, ms
    samples: dict[int, list[str]] = field(default_factory=dict)
    errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "closed_by_server": 0, "parse": 0, "timeout": 0}
    )
    not_sent: int = 0  # due while every connection was still waiting for an answer
    send_lag_ms: list[float] = field(default_factory=list)
    in_flight: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    def done(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.drained.set()


class Connection(asyncio.Protocol):
    def __init__(self, tally: Tally, idle: deque["Connection"]) -> None:
        self.tally = tally
        self.idle = idle
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.scheduled = 0.0
        self.busy = False
        self.closing = False
        self.body: list[bytes] | None = None

    def send(self, request: bytes, scheduled: float) -> None:
        assert self.transport is not None
        self.busy = True
        self.tally.in_flight += 1
        self.scheduled = scheduled
        self.transport.write(request)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's does not subclass it

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.tally.errors["parse"] += 1
            self.close()

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status >= 400 and len(self.tally.samples.get(status, ())) < SAMPLES_PER_STATUS:
            self.body = []

    def on_body(self, chunk: bytes) -> None:
        if self.body is not None:
            self.body.append(chunk)

    def on_message_complete(self) -> None:
        latency_ms = (time.perf_counter() - self.scheduled) * 1000
        status = self.parser.get_status_code()
        self.tally.answers.append((self.scheduled, status, latency_ms))
        if self.body is not None:
            sample = b"".join(self.body).decode(errors="replace")[:300]
            self.tally.samples.setdefault(status, []).append(sample)
            self.body = None
        self.busy = False
        self.tally.done()
        if self.parser.should_keep_alive():
            self.idle.append(self)
        # Otherwise the server closes it; connection_lost counts that.

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            self.busy = False
            self.tally.done()
        if not self.closing:
            self.tally.errors["closed_by_server"] += 1
            with contextlib.suppress(ValueError):
                self.idle.remove(self)
        self.closing = True

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


async def _run(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration: float,
    connections: int,
    answer_timeout: float,
    probe: bytes | None,
    probe_interval: float,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    tally, probes = Tally(), Tally()
    idle: deque[Connection] = deque()
    probe_idle: deque[Connection] = deque()

    async def connect(into: Tally, pool: deque[Connection]) -> Connection | None:
        protocol = Connection(into, pool)
        try:
            opening = loop.create_connection(lambda: protocol, host, port)
            await asyncio.wait_for(opening, answer_timeout)
        except (OSError, TimeoutError):
            into.errors["connect"] += 1
            return None
        pool.append(protocol)
        return protocol

    made = await asyncio.gather(*(connect(tally, idle) for _ in range(connections)))
    opened = [c for c in made if c is not None]
    # A separate connection, one request at a time: how long a cheap request waits in the
    # server's event loop meanwhile.
    probe_conn = await connect(probes, probe_idle) if probe else None
    held_at_start = len(opened)
    rng = random.Random(1)
    started = time.perf_counter()
    end = started + duration
    sent = 0
    next_probe = started
    cpu_before = time.process_time()
    while (now := time.perf_counter()) < end:
        if probe and probe_idle and now >= next_probe:
            probe_idle.popleft().send(probe, now)
            next_probe = now + probe_interval
        due = int((now - started) * rate) + 1  # request n is due at started + n / rate
        while sent < due:
            scheduled = started + sent / rate
            sent += 1
            if not idle:
                tally.not_sent += 1
                continue
            idle.popleft().send(rng.choice(requests), scheduled)
            tally.send_lag_ms.append((now - scheduled) * 1000)
        # uvloop's timers tick in whole milliseconds (a shorter sleep spins the CPU): at a few
        # thousand requests/s, each wake-up sends the few that fell due since the last one.
        await asyncio.sleep(0.001)
    cpu_s = time.process_time() - cpu_before
    # The answers still due get `answer_timeout` seconds; what is missing then is a timeout.
    if tally.in_flight:
        tally.drained.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.drained.wait(), answer_timeout)
    tally.errors["timeout"] = tally.in_flight
    held_at_end = sum(not c.closing for c in opened)
    for c in [*opened, *([probe_conn] if probe_conn else [])]:
        c.close()
    await asyncio.sleep(0.1)  # let the transports close

    return {
        "offered_rate": rate,
        "duration_s": duration,
        "connections": connections,
        "connections_held_at_start": held_at_start,
        "connections_held_at_end": held_at_end,
        "scheduled": sent,
        "sent": sent - tally.not_sent,
        "not_sent": tally.not_sent,
        "answered": len(tally.answers),
        "statuses": by_status(tally.answers),
        # The same without the first second, when the server also takes on the new connections.
        "statuses_after_1s": by_status([a for a in tally.answers if a[0] >= started + 1]),
        "timeline": timeline(tally.answers, started, duration),
        "error_samples": {str(code): s for code, s in tally.samples.items()},
        "socket_errors": tally.errors,
        "send_lag": summary(tally.send_lag_ms),
        "generator_cpu_s": round(cpu_s, 2),
        "probe": {
            "statuses": by_status(probes.answers),
            "timeline": timeline(probes.answers, started, duration),
            "socket_errors": probes.errors,
        },
    }


def run(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration: float,
    connections: int,
    answer_timeout: float = 5.0,
    probe: bytes | None = None,
    probe_interval: float = 0.1,
) -> dict[str, Any]:
    """Open `connections`, send `rate` requests/s for `duration` s, summarise the answers.

    `probe`, if given, is also sent every `probe_interval` s on a connection of its own.
    """
    # A collection pause in the generator would show up as the server's latency.
    gc.disable()
    try:
        return uvloop.run(
            _run(
                host,
                port,
                requests,
                rate=rate,
                duration=duration,
                connections=connections,
                answer_timeout=answer_timeout,
                probe=probe,
                probe_interval=probe_interval,
            )
        )
    finally:
        gc.enable()
