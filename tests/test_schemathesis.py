"""Schemathesis against a live `linkedin-posts serve`: the OpenAPI document is a promise, fuzzed.

Every operation, every phase (examples, coverage, fuzzing, stateful), every check. The run is
seeded and bounded so it takes one to two minutes per database.

This module is also the schemathesis hooks module of that run (SCHEMATHESIS_HOOKS names it). The
hooks only shape *positive* cases to rules that JSON Schema cannot state, so that "schema-valid
request rejected" means a real mismatch; negative cases are left alone.
"""

import functools
import os
import re
import subprocess
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import anyio.to_thread
import httpx
import pytest

from tests.conftest import PASSWORD, REPO_ROOT, fresh_database
from tests.ports import free_port

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
SEED = 20261123
# 30 cases per operation and phase: with 24 operations, 75 took 115 s per database, and the
# whole of `make test` must stay under 15 minutes on this 2-core machine. At 50, on a machine
# three times slower than usual (2026-12-07), one run took 126 s and `.ci/run` 14.5 minutes.
MAX_EXAMPLES = 30
# Generous, for a loaded CI machine; a run usually takes 20-130 s.
RUN_TIMEOUT_SECONDS = 600
SERVER_START_SECONDS = 60
# Every operation in the document: auth 4, api-keys 3, posts 6 (export included), analysis 2,
# LinkedIn payload, generation 4 (generate, stream, rewrite, usage), jobs 8 (submit, import,
# list, read, items, events, cancel, admin stats), admin stats, cache stats and clear, health
# live and ready.
OPERATIONS = 33

# Status codes that are a right answer to a schema-valid or schema-invalid request, beyond the
# defaults of the two checks. Nothing here excludes a check or an operation.
CONFIG = """
# A request the schema forbids may also be refused for its size: 413 is a rejection too.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422",
                     "428", "429", "5xx"]

# If-Match names a version schemathesis cannot know; 412 is the documented answer to a stale
# one (RFC 9110 13.1.1), not a rejection of the data.
[[operations]]
include-path = "/v1/posts/{post_id}"
include-method = ["PATCH", "DELETE"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409",
                                                     "412", "429", "5xx"]

# An import file is `format: binary` to JSON Schema, which cannot say "UTF-8 CSV with a header
# row": 422 (import_encoding_unsupported, import_malformed, ...) is the documented answer to bytes
# that are no such file.
[[operations]]
include-path = "/v1/jobs/import"
include-method = ["POST"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409",
                                                     "415", "422", "429", "5xx"]
"""


@functools.cache
def _tag_validator() -> Any:
    import jsonschema_rs

    from linkedin_posts.posts.schemas import TAG_PATTERN

    return jsonschema_rs.validator_for({"type": "string", "pattern": TAG_PATTERN})


def _valid_tag(tag: object) -> bool:
    return bool(_tag_validator().is_valid(tag))


def shape_positive_case(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Make a positive case obey the post rules the schema can only describe in words.

    A `before_call` hook: it runs inside the schemathesis process, on every request it sends.
    """
    import regex

    from linkedin_posts.posts.schemas import MAX_BODY_GRAPHEMES

    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.path == "/v1/jobs" and isinstance(case.body, dict):
        for item in case.body.get("items", []) if case.body.get("kind") == "generate" else []:
            if isinstance(item, dict) and item.get("language") not in (None, "en", "es"):
                item["language"] = "en"  # as for /v1/generate below
        return
    if case.path.startswith("/v1/generate") and isinstance(case.body, dict):
        # Which languages a provider writes is configuration, not schema: the template writes
        # English and Spanish, a model any of the codes. Another is a documented 422.
        if case.body.get("language") not in (None, "en", "es"):
            case.body["language"] = "en"
        return
    if not case.path.startswith("/v1/posts"):
        return
    # Schemathesis stands in whole Unicode blocks for \p{M}, unassigned code points included
    # (U+20F1), so it draws tags the schema's own validator refuses. Keep the ones it accepts.
    if isinstance(case.query, dict) and "tag" in case.query and not _valid_tag(case.query["tag"]):
        del case.query["tag"]
    body = case.body
    if case.method not in ("POST", "PATCH") or not isinstance(body, dict):
        return
    if isinstance(body.get("tags"), list):
        body["tags"] = [tag for tag in body["tags"] if _valid_tag(tag)]
    # maxLength counts code points; LinkedIn's limit counts what a reader sees (graphemes).
    if isinstance(body.get("body"), str):
        body["body"] = "".join(regex.findall(r"\X", body["body"])[:MAX_BODY_GRAPHEMES])
    # A scheduled post needs a time in the future: "future" is not a JSON Schema keyword. A PATCH
    # may schedule a post that has no time yet, or move the time of one that is scheduled.
    if body.get("status") == "scheduled" or (case.method == "PATCH" and "scheduled_at" in body):
        body["scheduled_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()


if os.environ.get("SCHEMATHESIS_HOOKS") == __name__:
    import schemathesis

    schemathesis.hook("before_call")(shape_positive_case)


UNSET = ("LP_", "COVERAGE_")


def server_env(database_url: str) -> dict[str, str]:
    # Only what the server needs: no LP_* setting of the developer's shell leaks in, and no
    # coverage measurement (it checks promises, not lines; measured, it ran twice as long).
    env = {key: value for key, value in os.environ.items() if not key.startswith(UNSET)}
    env.update(LP_ENV="test", LP_DATABASE_URL=database_url, LP_AUTO_MIGRATE="true")
    # Thousands of requests a minute from one address and one user: limits high enough that the
    # fuzzer reaches every route (tests/ratelimit tests the limits).
    for route_class in ("AUTH", "READ", "WRITE", "AI"):
        env[f"LP_RATELIMIT_{route_class}"] = "100000/minute"
    return env


def _copy_output(stream: IO[bytes], log: Path, listening: threading.Event) -> None:
    """Keep the server's pipe drained into a log; flag the line that says it accepts requests."""
    with log.open("wb") as out:
        for line in stream:
            out.write(line)
            out.flush()
            if b"Uvicorn running on" in line:
                listening.set()
    listening.set()  # the server exited: nothing to wait for any more


@contextmanager
def live_server(database_url: str, workdir: Path) -> Iterator[str]:
    """`linkedin-posts serve` on a free port; yields its base URL once /openapi.json answers."""
    port = free_port()
    log = workdir / "server.log"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "linkedin-posts"), "serve", "--port", str(port)],
        cwd=workdir,  # so no developer .env is read
        env=server_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    listening = threading.Event()
    copier = threading.Thread(target=_copy_output, args=(process.stdout, log, listening))
    copier.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        if not listening.wait(SERVER_START_SECONDS) or process.poll() is not None:
            pytest.fail(f"the server did not start:\n{log.read_text()}")
        schema = httpx.get(f"{base_url}/openapi.json", timeout=10)
        assert schema.status_code == 200, schema.text
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        copier.join()


def sign_up(base_url: str) -> str:
    """Register a user over HTTP and return a bearer token for it.

    A JWT rather than an API key: the stateful phase revokes the keys it finds, and it must not
    revoke the credential it is authenticating with.
    """
    email = f"schemathesis-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=base_url, timeout=10) as http:
        created = http.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
        login = http.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token: str = login.json()["access_token"]
        # The account can also hold API keys: the key operations are tested with some present.
        bearer = {"Authorization": f"Bearer {token}"}
        key = http.post("/v1/api-keys", json={"name": "schemathesis"}, headers=bearer)
        assert key.status_code == 201, key.text
    return token


def run_schemathesis(base_url: str, token: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_")},
        "SCHEMATHESIS_HOOKS": __name__,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--request-timeout",
        "10",
        "--report",
        "junit",
        "--report-junit-path",
        str(workdir / "junit.xml"),
        "--generation-database",
        "none",
        "--no-color",
    ]
    return subprocess.run(
        command,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


def generated_cases(output: str) -> int:
    match = re.search(r"^\s*(\d+) generated", output, re.MULTILINE)
    assert match, output
    return int(match.group(1))


async def test_the_api_keeps_the_promises_of_its_openapi_document(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fresh_database(backend, tmp_path) as database_url:
        with live_server(database_url, tmp_path) as base_url:
            token = await anyio.to_thread.run_sync(sign_up, base_url)
            result = await anyio.to_thread.run_sync(run_schemathesis, base_url, token, tmp_path)

    output = result.stdout + result.stderr
    cases = generated_cases(output)
    with capsys.disabled():
        print(f"\nschemathesis on {backend}: {cases} test cases, exit code {result.returncode}")
    assert result.returncode == 0, output
    assert f"Tested: {OPERATIONS}" in output, output
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", output), f"{phase} did not pass:\n{output}"
    suite = ET.parse(tmp_path / "junit.xml").getroot()  # noqa: S314 (our own run's report)
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0"), output
    assert cases > 1000, output
