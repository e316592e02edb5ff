"""Optional tracing (OpenTelemetry) and error reporting (Sentry), imported only when configured.

The `otel` extra installs both. With OTEL_EXPORTER_OTLP_ENDPOINT unset, and LP_SENTRY_DSN unset,
neither package is imported and nothing here costs a request anything.
"""

import os
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.typing import EventDict, Processor, WrappedLogger

from linkedin_posts import __version__
from linkedin_posts.config import Settings

_provider_installed = False
_sentry_on = False


def tracing_enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def log_processors() -> list[Processor]:
    """Processors that put the current trace and span ids into every log line, when tracing."""
    return [add_trace_ids] if tracing_enabled() else []


def add_trace_ids(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def instrument_app(app: FastAPI, settings: Settings) -> None:
    """Before the first request (it adds middleware): Sentry, the tracer provider, FastAPI spans."""
    global _sentry_on
    if settings.sentry_dsn is not None:
        import sentry_sdk

        # No request bodies, headers or user data: Sentry gets the stack and the route.
        sentry_sdk.init(
            dsn=settings.sentry_dsn.get_secret_value(),
            environment=settings.env,
            release=__version__,
            send_default_pii=False,
        )
        _sentry_on = True
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    _install_provider()
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/health/.*,/metrics")


def instrument_engine(engine: AsyncEngine) -> None:
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # The instrumentation declares SQLAlchemy < 2.1 and would refuse 2.1; it uses only the
    # cursor-execute events, which 2.1 keeps (tests/observability/test_tracing.py shows the spans).
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, skip_dep_check=True)


def _install_provider() -> None:
    # The tracer provider is global and set once per process; tests create many apps.
    global _provider_installed
    if _provider_installed:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "linkedin-posts")
    attributes: dict[str, Any] = {"service.name": service, "service.version": __version__}
    provider = TracerProvider(resource=Resource.create(attributes))
    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and headers, timeout) itself.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    # The hot reads run on asyncpg directly (reader.py), where SQLAlchemy's events do not reach.
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    _provider_installed = True


def report_exception(exc: BaseException) -> None:
    """Send an unhandled error to Sentry, when configured (we answer it ourselves, so Sentry's
    own ASGI hooks never see it)."""
    if _sentry_on:
        import sentry_sdk

        sentry_sdk.capture_exception(exc)
