"""A local scale-out deployment: API processes and a job worker behind Debian's nginx, on loopback.

`make scaleout-test` (tests/scaleout) and `bench/scaleout.py` both run it. Each API process is
`linkedin-posts serve`, the worker `linkedin-posts worker`, and nginx runs deploy/nginx.conf with
only its `listen` line and its upstream's `server` lines replaced, so what is checked here is
what a deployment runs. No pytest here: the benchmark imports it too.
"""

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
NGINX_CONF = REPO / "deploy" / "nginx.conf"
_SCRIPT = Path(sys.executable).with_name("linkedin-posts")
CLI = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "import sys; from linkedin_posts.cli import main; sys.exit(main())"]
)
# Debian puts nginx in /usr/sbin, which not every user's PATH holds.
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
UPSTREAM_SERVER = re.compile(r"^(\s*)server api-\d+:8000(.*);$", re.MULTILINE)
LISTEN = re.compile(r"^(\s*)listen 8080;$", re.MULTILINE)


def render_nginx_conf(upstreams: list[tuple[int, bool]], listen_port: int) -> str:
    """deploy/nginx.conf with loopback instances ((port, down) each) and a loopback listener."""
    text = NGINX_CONF.read_text()
    servers = list(UPSTREAM_SERVER.finditer(text))
    assert servers, "deploy/nginx.conf names no `server api-N:8000` in its upstream"
    indent, options = servers[0].group(1), servers[0].group(2)
    lines = [
        f"{indent}server 127.0.0.1:{port}{options}{' down' if down else ''};"
        for port, down in upstreams
    ]
    # The upstream's server lines are one block: it is replaced whole.
    text = text[: servers[0].start()] + "\n".join(lines) + text[servers[-1].end() :]
    text, listens = LISTEN.subn(rf"\g<1>listen 127.0.0.1:{listen_port};", text)
    assert listens == 1, "deploy/nginx.conf has no `listen 8080;`"
    return text


def get(url: str, timeout: float = 2.0) -> int:
    """The status of a GET to one of our loopback servers, 0 if it did not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http only)
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while get(f"{url}/health/ready") != 200:
        if process.poll() is not None:
            raise RuntimeError(f"{log.name} exited ({process.returncode}): {log.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not ready in {seconds} s: {log.read_text()}")
        time.sleep(0.05)


@dataclass
class Instance:
    """One `linkedin-posts serve` on a port of its own."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    down: bool = False  # marked `down` in nginx: it gets no new requests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    workdir: Path
    database_url: str
    redis_url: str
    instances: int = 2
    workers_per_instance: int = 1
    settings: dict[str, str] = field(default_factory=dict)
    api: list[Instance] = field(default_factory=list)
    worker: subprocess.Popen[bytes] | None = None
    nginx: subprocess.Popen[bytes] | None = None
    nginx_port: int = 0

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.api = [
            Instance(f"api-{n + 1}", free_port(), self.workdir / f"api-{n + 1}.log")
            for n in range(self.instances)
        ]
        self.nginx_port = free_port()
        self.env = {name: value for name, value in os.environ.items() if name[:3] != "LP_"}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.env.update(
            LP_ENV="production",
            LP_SECRET_KEY=secrets.token_urlsafe(32),
            LP_DATABASE_URL=self.database_url,
            LP_REDIS_URL=self.redis_url,
            LP_AUTO_MIGRATE="false",
            # nginx is the only peer: its X-Forwarded-For names the client.
            LP_TRUSTED_PROXIES="127.0.0.1/32",
            # The API processes take jobs in and announce them; the worker runs them.
            LP_JOBS_ENABLED="false",
            LP_JOBS_QUEUE_STREAM=f"lp:jobs:scaleout:{secrets.token_hex(6)}",
            **self.settings,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    # --- processes ---------------------------------------------------------------------------

    def migrate(self) -> None:
        subprocess.run(
            [*CLI, "migrate"], env=self.env, cwd=self.workdir, check=True, capture_output=True
        )

    def start_api(self, instance: Instance, ready_seconds: float = 60) -> None:
        with instance.log.open("ab") as out:
            instance.process = subprocess.Popen(
                [
                    *(*CLI, "serve", "--host", "127.0.0.1", "--port", str(instance.port)),
                    *("--workers", str(self.workers_per_instance), "--no-access-log"),
                ],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_ready(instance.url, instance.process, instance.log, ready_seconds)

    def stop_api(self, instance: Instance, signum: int = signal.SIGTERM) -> int:
        """Signal the instance (its whole process group for SIGKILL) and wait for it to end."""
        process = instance.process
        assert process is not None
        if process.poll() is None:
            if signum == signal.SIGKILL:
                os.killpg(process.pid, signum)  # the workers too, as a crashed machine would
            else:
                process.send_signal(signum)
            process.wait(timeout=60)
        instance.process = None
        return process.returncode

    def start_worker(self, ready_seconds: float = 60) -> None:
        """Start `linkedin-posts worker`; return once it listens on the job queue."""
        log = self.workdir / "worker.log"
        with log.open("ab") as out:
            self.worker = subprocess.Popen(
                [*CLI, "worker"],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + ready_seconds
        while "running jobs from the queue" not in log.read_text():
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: {log.read_text()}")
            time.sleep(0.05)

    def start_nginx(self) -> None:
        self._write_nginx_conf()
        log = self.workdir / "nginx.log"
        with log.open("ab") as out:
            self.nginx = subprocess.Popen(
                self._nginx_command("-g", f"pid {self.workdir}/nginx.pid; daemon off;"),
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while get(f"{self.url}/health/live") != 200:
            if self.nginx.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {log.read_text()}")
            time.sleep(0.05)

    def start(self) -> "Cluster":
        self.migrate()
        for instance in self.api:
            self.start_api(instance)
        self.start_worker()
        self.start_nginx()
        return self

    def close(self) -> None:
        for process in [self.nginx, self.worker, *(i.process for i in self.api)]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [self.nginx, self.worker, *(i.process for i in self.api)]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

    # --- nginx -------------------------------------------------------------------------------

    def _nginx_command(self, *args: str) -> list[str]:
        conf = self.workdir / "nginx.conf"
        assert NGINX, "nginx is not installed (`make nginx`)"
        return [NGINX, "-p", str(self.workdir), "-c", str(conf), "-e", "stderr", *args]

    def _write_nginx_conf(self) -> None:
        upstreams = [(instance.port, instance.down) for instance in self.api]
        conf = render_nginx_conf(upstreams, self.nginx_port)
        (self.workdir / "nginx.conf").write_text(conf)

    def nginx_workers(self) -> set[int]:
        assert self.nginx is not None
        return {child.pid for child in psutil.Process(self.nginx.pid).children()}

    def reload_nginx(self) -> None:
        """Apply the instances' `down` marks, and wait until nginx's old workers have ended:
        then no connection to an instance marked down is left, in flight or kept alive."""
        old = self.nginx_workers()
        self._write_nginx_conf()
        subprocess.run(
            self._nginx_command("-g", f"pid {self.workdir}/nginx.pid;", "-s", "reload"),
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in old):
            if time.monotonic() > deadline:
                raise RuntimeError("nginx's old workers did not end in 30 s")
            time.sleep(0.02)

    # --- operations --------------------------------------------------------------------------

    def restart(self, instance: Instance) -> None:
        """Take one instance out of nginx, stop it (SIGTERM), start it again, put it back."""
        instance.down = True
        self.reload_nginx()
        code = self.stop_api(instance)
        # uvicorn ends its graceful shutdown by raising the signal it caught again.
        if code not in (0, -signal.SIGTERM):
            log = instance.log.read_text()
            raise RuntimeError(f"{instance.name} exited {code} on SIGTERM: {log}")
        self.start_api(instance)
        instance.down = False
        self.reload_nginx()

    def rolling_restart(self) -> None:
        for instance in self.api:
            self.restart(instance)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
