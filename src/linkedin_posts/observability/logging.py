"""structlog for our lines and the standard library's (uvicorn, SQLAlchemy) alike.

JSON in production, readable lines in development; every line of a request carries its
request id; secrets are redacted from every line, whatever logged them.
"""

import functools
import logging
import re
import sys
from collections.abc import MutableMapping, Sequence
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from linkedin_posts.config import Settings

REDACTED = "[REDACTED]"
# Keys whose values are secrets, wherever they appear in a line (headers, settings, bodies);
# an id of such a thing (`api_key_id`) is not one.
_SECRET_KEY = re.compile(
    r"authorization|cookie|passw(or)?d|secret|token|api[_-]?key|credential|dsn", re.IGNORECASE
)
_ID_KEY = re.compile(r"_ids?$")
# Secrets inside free text: `password=...`, our API keys, JWTs, bearer credentials, passwords
# in URLs.
_SECRET_TEXT = [
    (
        re.compile(r"(?i)\b(passw(?:or)?d|secret|token|api[_-]?key)(\s*[=:]\s*)[^\s,;&\"']+"),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"\blp_[A-Za-z0-9_-]{8,}"), "lp_" + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"(://[^/\s:@]*):[^@\s/]+@"), r"\1:" + REDACTED + "@"),
]
_HANDLER_NAME = "linkedin_posts"


# One search that every text with a secret of the shapes above matches; most log text (ids,
# route templates) does not, and then costs one search instead of five substitutions.
_MAYBE_SECRET = re.compile(r"(?i)passw|secret|token|api[_-]?key|lp_|eyJ|bearer|basic|://")


def redact_text(text: str) -> str:
    if not _MAYBE_SECRET.search(text):
        return text
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=1024)  # a program logs the same few keys over and over
def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEY.search(key)) and not _ID_KEY.search(key)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, MutableMapping):
        return {
            key: REDACTED if _is_secret_key(key) else _redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Replace secret values by key name and secret-looking text anywhere in the line."""
    redacted: EventDict = _redact(event_dict)
    return redacted


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to whatever sys.stderr is now (test capture replaces it), not the one at setup."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class _StderrLogger:
    """structlog's output for our own lines: straight to the current sys.stderr.

    Our lines skip the standard library's logging, whose caller lookup walks the whole stack on
    every record; under the middleware stack that made an access line cost ~4 times as much.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def msg(self, message: str) -> None:
        sys.stderr.write(message + "\n")

    debug = info = warning = warn = error = critical = exception = fatal = msg


def _json_dumps(value: Any, **_kwargs: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def configure_logging(settings: Settings, *, extra_processors: Sequence[Processor] = ()) -> None:
    """Send structlog's lines and the standard library's through the same redacting processors."""
    pre_chain: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        *extra_processors,
    ]
    renderer: Processor
    if settings.log_json:
        renderer = structlog.processors.JSONRenderer(serializer=_json_dumps)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    # Stacks are text once format_exc_info ran, so the redaction after it reaches into them too.
    final: list[Processor] = [structlog.processors.format_exc_info, redact_secrets, renderer]
    structlog.configure(
        processors=[*pre_chain, *final],
        logger_factory=_StderrLogger,
        wrapper_class=structlog.make_filtering_bound_logger(settings.log_level.upper()),
        # Not cached: each app (tests make many) may configure another format or level.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = _CurrentStderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Replace only our own handler: others (a test's log capture) stay.
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers would print a second, unredacted copy.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # uvicorn's access lines are replaced by ours, which know the route and principal. Without
    # a handler in reach uvicorn does not even format them (it formatted each for nothing).
    access = logging.getLogger("uvicorn.access")
    access.disabled = True
    access.propagate = False
    # The AI provider's HTTP client logs every call at info; failed calls are ours to log
    # (generation/resilience.py), and a line per success is noise at 100 calls a second.
    # LP_LOG_LEVEL=debug shows them again.
    quiet = root.level > logging.DEBUG
    logging.getLogger("httpx2").setLevel(logging.WARNING if quiet else logging.NOTSET)
