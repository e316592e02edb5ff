"""Drive wrk with bench/scenarios.lua and read its results (and what the CPU did meanwhile)."""

import json
import re
import resource
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import servers
from seed import BenchDatabase, SeededUser

SCRIPT = Path(__file__).resolve().parent / "scenarios.lua"
_RESULT = re.compile(r"^BENCH_RESULT (\{.*\})$", re.MULTILINE)
_STANDARD_FIELDS = frozenset(
    (
        "duration_us",
        "requests",
        "bytes",
        "socket_errors",
        "status_errors",
        "statuses",
        "error_samples",
        "latency_us",
    )
)

# Bodies of POST /v1/posts: LinkedIn-sized, with tags, so a write also writes post_tags rows.
CREATE_BODIES = [
    {
        "title": f"Benchmark post {i}",
        "body": (
            "Shipping beats polishing. We put the first version in front of ten customers, "
            "listened for a week, and rewrote the onboarding twice.\n\n"
            f"What I would tell my younger self, lesson {i}: measure before you optimise, "
            "and write down why you made each call.\n\n#product #startups"
        ),
        "tags": ["product", "startups", f"lesson-{i}"],
        "visibility": "PUBLIC",
    }
    for i in range(8)
]


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install -y wrk)")
    return path


def wrk_version() -> str:
    done = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, timeout=10)
    first = (done.stdout or done.stderr).splitlines()[0]
    return first.split(" Copyright", 1)[0].strip()


def _lua_string(value: str) -> str:
    if not value.isascii():
        raise ValueError("the wrk data file holds ASCII only")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def write_data(path: Path, users: Sequence[SeededUser]) -> None:
    """The Lua table scenarios.lua loads: each user's API key and post ids, and POST bodies."""
    lines = ["return {", "  users = {"]
    for user in users:
        posts = ", ".join(_lua_string(p) for p in user.post_ids)
        lines.append(f"    {{ key = {_lua_string(user.api_key)}, posts = {{ {posts} }} }},")
    lines.append("  },")
    lines.append("  bodies = {")
    lines.extend(f"    {_lua_string(json.dumps(b))}," for b in CREATE_BODIES)
    lines.append("  },")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)  # it holds API keys, even if throwaway ones


@dataclass
class Measurement:
    scenario: str
    server: str
    workers: int
    connections: int
    threads: int
    duration_s: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: dict[str, int]
    non_2xx_3xx: int
    statuses: dict[str, int]
    error_samples: list[str]
    # CPU seconds spent during the measured interval, to tell a slow server from a busy machine.
    cpu_s: dict[str, float] = field(default_factory=dict)  # and pg_sessions_opened
    loadavg_before: list[float] = field(default_factory=list)
    raw_output: str = ""
    # What a script other than scenarios.lua adds to BENCH_RESULT (e.g. X-Cache counts).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + self.non_2xx_3xx

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code.startswith("5"))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = self.errors
        data["server_errors_5xx"] = self.server_errors
        return data


def _postgres_backends(database: BenchDatabase | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the benchmark's own database."""
    if database is None:
        return {}
    return {
        pid: servers.cpu_seconds(pid)
        for pid in servers.processes_named("postgres")
        if f" {database.name} " in servers.cmdline(pid)
    }


def _cpu_snapshot(server: servers.Server, database: BenchDatabase | None) -> dict[str, Any]:
    busy, total = servers.machine_cpu()
    return {
        "server": sum(servers.cpu_seconds(pid) for pid in server.tree_pids()),
        "postgres": _postgres_backends(database),
        "pg_sessions": database.sessions_opened() if database else 0,
        "wrk": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime,
        "machine_busy": busy / servers.CLK_TCK,
        "machine_total": total / servers.CLK_TCK,
    }


def run_wrk(
    server: servers.Server,
    scenario: str,
    data_path: Path,
    *,
    duration: float,
    connections: int,
    threads: int,
    database: BenchDatabase | None = None,
    limit: int = 0,
    script: Path = SCRIPT,
) -> Measurement:
    """One wrk run; `limit` > 0 also stops each wrk thread after that many responses.

    `script` takes the same arguments as scenarios.lua and prints the same BENCH_RESULT line;
    whatever else that line holds lands in `Measurement.extra`.
    """
    command = [
        wrk_path(),
        "--latency",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://{servers.HOST}:{server.port}",
        "--",
        scenario,
        str(data_path),
        str(limit),
    ]
    load_before = servers.loadavg()
    before = _cpu_snapshot(server, database)
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    after = _cpu_snapshot(server, database)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    found = _RESULT.search(done.stdout)
    if found is None:
        raise RuntimeError(f"wrk printed no BENCH_RESULT line:\n{done.stdout}\n{done.stderr}")
    result = json.loads(found.group(1))
    cpu = {k: round(after[k] - before[k], 2) for k in ("server", "wrk")}
    # Backends that started during the run count from zero; other databases' never count, nor
    # do backends that exited before the end (a lower bound when the pool churns connections).
    backends = after["postgres"]
    cpu["postgres"] = round(sum(t - before["postgres"].get(p, 0.0) for p, t in backends.items()), 2)
    cpu["pg_sessions_opened"] = after["pg_sessions"] - before["pg_sessions"]
    cpu["machine_busy"] = round(after["machine_busy"] - before["machine_busy"], 2)
    cpu["machine_capacity"] = round(after["machine_total"] - before["machine_total"], 2)
    seconds = result["duration_us"] / 1e6
    latency = result["latency_us"]
    statuses = {str(k): v for k, v in sorted(result["statuses"].items())}
    # wrk counts >= 400 as status errors; 1xx never reach here, so "not 2xx/3xx" is >= 400.
    non_ok = sum(n for code, n in statuses.items() if not code.startswith(("2", "3")))
    return Measurement(
        scenario=scenario,
        server=server.name,
        workers=server.workers,
        connections=connections,
        threads=threads,
        duration_s=round(seconds, 2),
        requests=result["requests"],
        requests_per_s=round(result["requests"] / seconds, 1),
        p50_ms=latency["p50"] / 1000,
        p75_ms=latency["p75"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        socket_errors=result["socket_errors"],
        non_2xx_3xx=max(non_ok, result["status_errors"]),
        statuses=statuses,
        error_samples=result["error_samples"],
        cpu_s=cpu,
        loadavg_before=load_before,
        raw_output=done.stdout,
        extra={k: v for k, v in result.items() if k not in _STANDARD_FIELDS},
    )
