"""Start, probe, measure and stop the servers under test (Linux /proc only, no psutil)."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from linkedin_posts.cli import EVENT_LOOP, HTTP_PROTOCOL

BIN = Path(sys.executable).parent
BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The settings `linkedin-posts serve` passes to uvicorn.run (src/linkedin_posts/cli.py), as
# uvicorn CLI flags, so the hello-world runs on exactly the same server stack.
UVICORN_FLAGS = (
    "--loop",
    EVENT_LOOP,
    "--http",
    HTTP_PROTOCOL,
    "--no-proxy-headers",
    "--no-server-header",
    "--log-level",
    "info",
    "--no-access-log",
)


def interpreter() -> str:
    """This Python as the command that reproduces a run names it (.venv-runtime or .venv)."""
    return os.path.relpath(sys.executable, BENCH_DIR.parent)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    workers: int
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_problems(self) -> list[str]:
        """Lines of the server's log that say something went wrong (tracebacks, errors)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        markers = ("Traceback", "ERROR", "Exception", "CRITICAL")
        return [line for line in text.splitlines() if any(m in line for m in markers)]

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the children with --workers > 1, else the server."""
        if self.workers == 1:
            return [self.pid]
        return [pid for pid in children(self.pid) if "spawn_main" in cmdline(pid)]

    def tree_pids(self) -> list[int]:
        return [self.pid, *children(self.pid)]


def start(
    name: str, command: list[str], *, workers: int, port: int, env: Mapping[str, str], logdir: Path
) -> Server:
    log_path = logdir / f"{name}-{workers}w.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=dict(env),
            cwd=logdir,  # away from the checkout, so no stray .env is read
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as one
        )
    return Server(name=name, workers=workers, port=port, process=process, log_path=log_path)


def start_api(
    *,
    workers: int,
    env: Mapping[str, str],
    logdir: Path,
    name: str = "api",
    access_log: bool = False,
) -> Server:
    port = free_port()
    command = [
        str(BIN / "linkedin-posts"),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
        *([] if access_log else ["--no-access-log"]),
    ]
    return start(name, command, workers=workers, port=port, env=env, logdir=logdir)


def start_hello(
    *,
    workers: int,
    env: Mapping[str, str],
    logdir: Path,
    app: str = "hello:app",
    name: str = "hello",
    http: str | None = None,
) -> Server:
    """A baseline app of bench/ (`module:attribute`) under uvicorn with serve's settings (or
    another HTTP protocol, `http`)."""
    port = free_port()
    flags = list(UVICORN_FLAGS)
    if http is not None:
        flags[flags.index("--http") + 1] = http
    command = [
        str(BIN / "uvicorn"),
        app,
        "--app-dir",
        str(BENCH_DIR),
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        *flags,
    ]
    return start(name, command, workers=workers, port=port, env=env, logdir=logdir)


def request(
    port: int, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request(method, path, body=body or None, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(
    server: Server, path: str, headers: Mapping[str, str] | None = None, timeout: float = 60
) -> float:
    """Wait until every worker has started and the server answers 200; return the seconds."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} server exited with {server.process.returncode}:\n"
                f"{server.log_tail()}"
            )
        log = server.log_path.read_text(errors="replace")
        if log.count("Application startup complete") >= server.workers:
            with contextlib.suppress(OSError):
                status, _ = request(server.port, "GET", path, headers)
                if status == 200:
                    return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} server not ready after {timeout:.0f}s:\n{server.log_tail()}")


def stop(server: Server, timeout: float = 20) -> None:
    """SIGTERM, wait (bounded), then SIGKILL the server's process group."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"  {server.name} server did not stop in {timeout:.0f}s; killing it")
    # Workers left behind by a supervisor that died or hung go with the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=5)


# --- /proc readers -------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def status_kib(pid: int, field: str) -> int | None:
    """A kB figure from /proc/<pid>/status (VmRSS, VmHWM), or None if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def user_system_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of one process (0, 0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0, 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # utime, stime (fields 14, 15)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 if it is gone)."""
    return sum(user_system_seconds(pid))


def processes_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
    return pids


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # up to steal; guest time is already counted in user
    return float(total - idle), float(total)


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
