"""Readers for the files in deploy/: nginx.conf, the Dockerfile, compose.yaml, the manifests.

Small parsers of just what the tests ask, so the tests read the files the way their programs
do without those programs (no Docker engine, no cluster here).
"""

import functools
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from starlette.routing import Match

from linkedin_posts.cli import build_parser
from linkedin_posts.config import Settings
from linkedin_posts.main import create_app
from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "k8s"


# --- the app ------------------------------------------------------------------------------------


@functools.cache
def _app() -> FastAPI:
    # Built as a server builds it, with its defaults; nothing is opened before its lifespan.
    return create_app(Settings(_env_file=None, env="test", database_url="sqlite+aiosqlite://"))  # type: ignore[call-arg]


def answers_get(path: str) -> bool:
    """Whether a GET of this path reaches one of the app's routes (not a 404 or a 405)."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in _app().router.routes)


def parse_command(argv: list[str]) -> Any:
    """`linkedin-posts ...` parsed by the CLI's own parser (exits, failing the test, if invalid)."""
    assert argv[0] == "linkedin-posts", argv
    return build_parser().parse_args(argv[1:])


def settings_from(environment: Mapping[str, str]) -> Settings:
    """The settings a process gets from these LP_ variables (and nothing else: no .env file)."""
    fields = {name[3:].lower(): value for name, value in environment.items()}
    return Settings(_env_file=None, **fields)  # type: ignore[call-arg]


def unknown_settings(names: list[str]) -> set[str]:
    """The LP_ names among these that the app does not read (a typo is silently ignored)."""
    return {
        name
        for name in names
        if name.startswith("LP_") and name[3:].lower() not in Settings.model_fields
    }


def seconds(text: str) -> float:
    """A duration as compose ("1m30s") and nginx ("35s", "1h", "60") write it."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?", text)
    assert "".join(n + u for n, u in parts) == text, f"not a duration: {text!r}"
    assert parts, f"not a duration: {text!r}"
    return sum(float(number) * units[unit or "s"] for number, unit in parts)


def size_bytes(text: str) -> int:
    """A size as nginx writes it: 512, 64k, 16m, 1g."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", text)
    assert match, f"not a size: {text!r}"
    return int(match[1]) * 1024 ** " kmg".index(match[2].lower() or " ")


# --- nginx.conf ---------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list["Directive"] | None = None

    def all(self, name: str) -> list["Directive"]:
        return [child for child in self.block or [] if child.name == name]

    def one(self, name: str) -> "Directive":
        (found,) = self.all(name)
        return found

    def value(self, name: str) -> str:
        return " ".join(self.one(name).args)


_NGINX_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[{};]|[^\s{};]+')


def parse_nginx(text: str) -> Directive:
    """The configuration as a tree of directives, under a root named "main"."""
    tokens = [token for line in text.splitlines() for token in _line_tokens(line)]
    root = Directive("main", [], [])
    stack = [root]
    words: list[str] = []
    for token in tokens:
        if token == ";":
            assert stack[-1].block is not None
            stack[-1].block.append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            block = Directive(words[0], words[1:], [])
            assert stack[-1].block is not None
            stack[-1].block.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token.strip("\"'"))
    assert len(stack) == 1, "unbalanced braces"
    assert not words, f"unterminated directive {words}"
    return root


def _line_tokens(line: str) -> Iterator[str]:
    for token in _NGINX_TOKEN.findall(line):
        if token.startswith("#"):
            return
        yield token


def nginx_conf() -> str:
    return (DEPLOY / "nginx.conf").read_text()


# --- the Dockerfile -----------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form CMD, HEALTHCHECK ... CMD, ENTRYPOINT."""
        text = self.args.split(" CMD ", 1)[1] if self.keyword == "HEALTHCHECK" else self.args
        loaded = json.loads(text)
        assert isinstance(loaded, list), f"{self.keyword} is not in exec form: {self.args}"
        return [str(word) for word in loaded]

    def flags(self) -> dict[str, str]:
        return dict(re.findall(r"--([a-z-]+)=(\S+)", self.args))

    def words(self) -> list[str]:
        return shlex.split(self.args)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage FROM {self.base}"
        return found[-1]


def parse_dockerfile(text: str) -> list[Stage]:
    """The build stages, each with its instructions (continuations joined, comments dropped)."""
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1].strip() + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert not current, "the last instruction ends in a continuation"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        else:
            assert stages, f"{keyword} before the first FROM"
            stages[-1].instructions.append(Instruction(keyword, args.strip()))
    return stages


def dockerfile() -> list[Stage]:
    return parse_dockerfile((DEPLOY / "Dockerfile").read_text())


def dockerignored(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves `path` (relative to the context) out: the last pattern that
    matches the path or one of its parent directories decides; `!` lets it back in."""
    ignored = False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _dockerignore_regex(pattern.removeprefix("!"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def dockerignore() -> list[str]:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# --- compose.yaml -------------------------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariableError(Exception):
    """Compose's `${NAME:?message}` with NAME unset or empty: compose refuses to start."""


def interpolate(value: Any, environment: Mapping[str, str]) -> Any:
    """What compose makes of `value` with these variables: ${NAME}, ${NAME:-default},
    ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME and $$."""
    if isinstance(value, dict):
        return {key: interpolate(item, environment) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environment) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"]
        found = environment.get(name)
        unset = found is None or (op is not None and op.startswith(":") and not found)
        if op in (":-", "-"):
            return arg if unset else str(found)
        if op in (":?", "?") and unset:
            raise MissingVariableError(f"{name}: {arg}")
        return found or ""

    return _VARIABLE.sub(substitute, value)


def required_variables(text: str) -> set[str]:
    return {m["name"] for m in _VARIABLE.finditer(text) if m["op"] in (":?", "?")}


def compose_text() -> str:
    return (DEPLOY / "compose.yaml").read_text()


def compose(environment: Mapping[str, str] | None = None) -> dict[str, Any]:
    """compose.yaml as compose reads it: anchors and merge keys resolved, then variables."""
    loaded: dict[str, Any] = yaml.safe_load(compose_text())
    if environment is None:
        environment = example_environment()
    result: dict[str, Any] = interpolate(loaded, environment)
    return result


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines (comments and blank lines skipped), as compose reads .env."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def example_environment() -> dict[str, str]:
    """deploy/.env.example with every required value filled in, as a user is told to."""
    values = env_file(DEPLOY / ".env.example")
    return {key: value or f"filled-in-{key.lower()}-" + "x" * 40 for key, value in values.items()}


def service_commands(document: dict[str, Any]) -> dict[str, list[str]]:
    """Each service's command as a list, where it has one."""
    return {
        name: service["command"]
        for name, service in document["services"].items()
        if isinstance(service.get("command"), list)
    }


# --- Kubernetes manifests -----------------------------------------------------------------------


def manifest_files() -> list[Path]:
    """What `kubectl apply -f deploy/k8s/` applies, and the Secret template beside it."""
    return [*sorted(K8S.glob("*.yaml")), K8S / "secret.yaml.example"]


def manifests() -> list[dict[str, Any]]:
    return [
        document
        for path in manifest_files()
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def manifest(kind: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def pod_templates() -> dict[str, dict[str, Any]]:
    """The pod template of every workload, by "Kind/name"."""
    return {
        f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]
        for m in manifests()
        if m["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet")
    }
