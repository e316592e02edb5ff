"""deploy/Dockerfile, read as Docker reads it. The image is not built here (no Docker engine)."""

import re

import yaml

from tests.conftest import REPO_ROOT
from tests.deploy.files import (
    DEPLOY,
    answers_get,
    dockerfile,
    dockerignore,
    dockerignored,
    parse_command,
)

RUNTIME_BASE = "python:3.11-slim"
BUILD_TOOLS = re.compile(r"\b(apt-get|apt|gcc|g\+\+|make|build-essential|cc|curl|wget)\b")


def copies_from_context() -> list[str]:
    """The sources of every COPY that reads the build context (not another stage)."""
    return [
        source
        for stage in dockerfile()
        for copy in stage.all("COPY")
        if "from" not in copy.flags()
        for source in [word for word in copy.words() if not word.startswith("--")][:-1]
    ]


def test_the_image_is_built_in_a_builder_stage_and_runs_on_slim() -> None:
    *builders, final = dockerfile()

    assert builders, "a single stage: the build would ship in the image"
    assert final.base == RUNTIME_BASE
    # The virtual environment is copied across: its interpreter links must resolve in the
    # final stage, so both stages have the same Python at the same path.
    (source,) = [c for c in final.all("COPY") if "from" in c.flags()]
    builder = next(stage for stage in builders if stage.name == source.flags()["from"])
    assert builder.base == final.base
    assert source.words()[-2:] == ["/opt/venv", "/opt/venv"]


def test_dependencies_come_only_from_the_lock_with_hashes() -> None:
    *builders, _final = dockerfile()
    installs = [
        command.strip()
        for stage in builders
        for run in stage.all("RUN")
        for command in run.args.split("&&")
        if re.search(r"\bpip install\b", command)
    ]

    assert "pip install --require-hashes --no-deps -r requirements.lock" in installs
    # The project itself, without resolving anything the lock does not pin.
    assert "pip install --no-deps ." in installs
    assert len(installs) == 2, installs


def test_bytecode_is_compiled_in_the_image() -> None:
    *builders, _final = dockerfile()
    runs = " ".join(run.args for stage in builders for run in stage.all("RUN"))

    assert "python -m compileall" in runs
    assert "/opt/venv/lib/python3.11/site-packages" in runs


def test_the_final_stage_installs_nothing() -> None:
    final = dockerfile()[-1]

    for run in final.all("RUN"):
        assert not BUILD_TOOLS.search(run.args), run.args
        assert "pip" not in run.args, run.args


def test_the_service_runs_as_a_numeric_non_root_user() -> None:
    final = dockerfile()[-1]
    user = final.last("USER").args.split(":")[0]

    assert user.isdigit(), user
    assert int(user) != 0
    # The instructions after USER run as it; none may expect root's rights.
    after = final.instructions[final.instructions.index(final.last("USER")) :]
    assert not [i for i in after if i.keyword == "RUN"]
    # Kubernetes checks runAsNonRoot against the same uid.
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        if document["kind"] in ("Deployment", "Job"):
            context = document["spec"]["template"]["spec"]["securityContext"]
            assert context["runAsUser"] == int(user), path.name


def test_the_health_check_asks_for_readiness_without_curl() -> None:
    final = dockerfile()[-1]
    check = final.last("HEALTHCHECK")
    command = check.exec_form()
    serve = parse_command(final.last("CMD").exec_form())

    assert command[:2] == ["python", "-c"]
    compile(command[2], "HEALTHCHECK", "exec")
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", command[2])
    assert url, command
    assert int(url[1]) == serve.port
    assert url[2] == "/health/ready"
    assert answers_get(url[2])
    flags = check.flags()
    # The check's own timeout is below Docker's, so a hung server fails the check cleanly.
    timeout = re.search(r"timeout=(\d+)", command[2])
    assert timeout, command
    assert int(timeout[1]) < int(flags["timeout"].removesuffix("s"))


def test_the_default_command_serves_in_exec_form_and_stops_on_sigterm() -> None:
    final = dockerfile()[-1]
    serve = parse_command(final.last("CMD").exec_form())

    assert serve.command == "serve"
    assert serve.host == "0.0.0.0"  # noqa: S104 - the container's network is the boundary
    assert final.last("EXPOSE").args == str(serve.port)
    assert final.last("STOPSIGNAL").args == "SIGTERM"
    assert not final.all("ENTRYPOINT")


def test_copied_files_exist_and_are_in_the_build_context() -> None:
    patterns = dockerignore()

    for source in copies_from_context():
        path = REPO_ROOT / source
        assert path.exists(), source
        files = [path] if path.is_file() else [p for p in path.rglob("*.py")]
        for file in files:
            relative = file.relative_to(REPO_ROOT).as_posix()
            if "__pycache__" not in relative:
                assert not dockerignored(patterns, relative), relative
    # What the project build reads besides the sources.
    assert {"pyproject.toml", "README.md", "requirements.lock"} <= set(copies_from_context())


def test_local_state_stays_out_of_the_build_context() -> None:
    patterns = dockerignore()

    for path in (".env", ".venv/bin/python", ".git/HEAD", "var/linkedin_posts.db", "deploy/.env"):
        assert dockerignored(patterns, path), path
    assert dockerignored(patterns, "src/linkedin_posts/__pycache__/main.cpython-311.pyc")
