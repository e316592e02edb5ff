"""Settings from the environment (prefix LP_) and an optional .env file."""

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Literal

import limits
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from linkedin_posts.analysis.codes import LANGUAGE_CODES

# Shipped so `make run` works out of the box; production refuses it (see check_secret_key).
DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789"  # noqa: S105
MIN_SECRET_KEY_BYTES = 32
_READ_URL_SHAPE = (
    "LP_DATABASE_READ_URL must be a PostgreSQL URL: postgresql+asyncpg://user:password@host/db"
)


class InsecureSecretKeyError(ValueError):
    """Raised when production would start with a guessable signing key."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A validation error would otherwise print the raw input: keys, passwords in URLs.
        hide_input_in_errors=True,
    )

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///var/linkedin_posts.db"
    redis_url: str | None = None
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    auto_migrate: bool | None = Field(
        default=None, description="Apply migrations on serve; default: on for SQLite only."
    )

    # Database connection pool (both backends; a request holds one connection at a time).
    # A fixed pool: SQLAlchemy closes an overflow connection as soon as it is returned, so under
    # steady load above the pool size every request opened a new PostgreSQL session (254 in 10 s
    # in bench/run.py, p99 4x worse). Requests beyond the pool wait up to db_pool_timeout.
    db_pool_size: int = Field(default=20, ge=1)
    db_pool_max_overflow: int = Field(default=0, ge=0)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    db_pool_recycle: int = Field(default=1800, ge=-1)
    # Closed connections are always skipped at checkout for free; this adds a round-trip ping,
    # for networks that drop idle connections without closing them.
    db_pool_pre_ping: bool = False
    # PostgreSQL only: the asyncpg pool of the hot reads (credentials, one post). A read holds a
    # connection for one statement, a fraction of a millisecond, so a few serve thousands a second.
    db_read_pool_size: int = Field(default=10, ge=1)
    # A PostgreSQL streaming replica of LP_DATABASE_URL for the reads that tolerate its lag
    # (replica.py): an account's posts, unless it wrote them within the window below. The
    # replica gets pools of its own, sized as the primary's (db_pool_size, db_read_pool_size).
    database_read_url: str | None = Field(
        default=None,
        description="PostgreSQL streaming replica for lag-tolerant reads; unset: all on primary.",
    )
    database_read_after_write_seconds: float = Field(
        default=5.0,
        ge=1.0,
        le=300.0,
        description="After an account writes its posts, its reads stay on the primary this long; "
        "the replica is also skipped while it may be further behind than this.",
    )
    db_echo: bool = False
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    # Tokens.
    jwt_issuer: str = "linkedin-posts"
    jwt_audience: str = "linkedin-posts-api"
    access_token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)

    # Password hashing: argon2id at or above OWASP's minimum (m=19 MiB, t=2, p=1).
    argon2_memory_kib: int = Field(default=19456, ge=19456)
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1)

    # Limits.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Request body cap (413).")
    api_keys_per_user: int = Field(default=20, ge=1)

    # Protection.
    https: bool = Field(default=False, description="Served over HTTPS: send HSTS.")
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Host names served (comma-separated; `*.example.com` allowed; `*`: any).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Browser origins allowed cross-origin; none: CORS off."
    )
    cors_allow_credentials: bool = False
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Measured (docs/benchmarks.md): at 80% of capacity, caps of 8-32 kept the p99 of reads at
    # 17-41 ms and 64-128 let it reach 84-261 ms, the extra requests only waiting their turn.
    max_in_flight: int = Field(default=32, ge=1, description="Requests per process before 503.")
    # Under `linkedin-posts serve` (protection/request_head.py); nginx has its own in front.
    max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Request line and headers cap (431, 414)."
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Time for a request's headers to arrive (408)."
    )

    # On/off switches for the optional parts; each later part reads its own switch.
    cache_enabled: bool = True
    # Cache (docs/operations.md, "The cache"). L1 is each process's memory; L2 is Redis, used
    # when LP_REDIS_URL is set; L3 (analyses, generations) is a directory, off unless named.
    cache_l1_max_entries: int = Field(default=50_000, ge=1, description="Entries in memory.")
    cache_l1_max_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Bytes of values in memory, per process."
    )
    cache_l1_ttl_seconds: float = Field(default=300.0, gt=0, description="Lifetime in memory.")
    cache_l1_policy: Literal["lru", "lfu"] = Field(default="lru", description="Eviction order.")
    cache_l2_ttl_seconds: float = Field(default=3600.0, gt=0, description="Lifetime in Redis.")
    cache_redis_timeout_seconds: float = Field(
        default=0.05, gt=0, le=5, description="Per cache call: a slow Redis costs no more."
    )
    cache_redis_retry_seconds: float = Field(
        default=2.0, gt=0, le=60, description="After a Redis failure, the cache skips it this long."
    )
    cache_compress_min_bytes: int = Field(
        default=1024, ge=0, description="Values kept in Redis above this size are zstd-compressed."
    )
    cache_deaf_ttl_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Lifetime in memory while other processes' invalidations cannot be heard.",
    )
    cache_ping_seconds: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="Each process pings Redis through its subscription this often; three "
        "unanswered pings count as a lost subscription.",
    )
    cache_ack_timeout_seconds: float = Field(
        default=0.1,
        ge=0,
        le=5,
        description="A write waits this long at most for the other processes to confirm they "
        "dropped its keys.",
    )
    cache_lease_ms: int = Field(default=2000, ge=10, description="A loader's lease on a key.")
    cache_lease_wait_seconds: float = Field(
        default=0.5, ge=0, le=10, description="How long a miss waits for another loader's value."
    )
    cache_token_entries: int = Field(
        default=10_000, ge=0, description="Verified access tokens remembered per process."
    )
    cache_warmup_posts: int = Field(
        default=0, ge=0, description="Most recently updated posts loaded into memory at start."
    )
    cache_disk_dir: str | None = Field(
        default=None, description="L3 directory for analyses and generations; unset: no L3."
    )
    cache_disk_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024 * 1024)
    ratelimit_enabled: bool = True
    # Rate limits, written "N/second", "N/minute", "N/hour" or "N/day" (limits' notation).
    ratelimit_auth: str = Field(default="10/minute", description="Register, login: per address.")
    ratelimit_read: str = Field(default="1200/minute", description="GET routes, per principal.")
    ratelimit_write: str = Field(default="300/minute", description="Other routes, per principal.")
    ratelimit_ai: str = Field(
        default="30/minute", description="Generation, analysis: per principal."
    )
    ratelimit_process: str = Field(
        default="100000/second", description="All limited requests of one process together."
    )
    ratelimit_expected_instances: int = Field(
        default=2,
        ge=1,
        description="API processes sharing Redis: each one's share when it is down.",
    )
    ratelimit_redis_retry_seconds: float = Field(default=2.0, gt=0, le=60)
    login_lockout_after: int = Field(default=5, ge=1, description="Failed logins before a lock.")
    login_lockout_seconds: int = Field(default=30, ge=1, description="First lock; then doubling.")
    login_lockout_max_seconds: int = Field(default=900, ge=1)
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list, description="Peers whose X-Forwarded-For is believed (CIDRs)."
    )
    compression_enabled: bool = True
    compression_min_bytes: int = Field(default=500, ge=0, description="Smaller bodies go as is.")
    compression_level: int = Field(default=4, ge=1, le=9, description="1 fastest, 9 smallest.")
    metrics_enabled: bool = True
    docs_enabled: bool | None = Field(
        default=None, description="Serve /docs and /openapi.json; default: off in production."
    )
    # Observability.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: JSON in production, readable console lines otherwise."
    )
    access_log: bool = True
    # Who may scrape /metrics: these networks (comma-separated CIDRs), or anyone with the token.
    metrics_allow: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=lambda: [ip_network("127.0.0.0/8"), ip_network("::1/128")]
    )
    metrics_token: SecretStr | None = None
    health_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    redis_timeout_seconds: float = Field(default=0.25, gt=0, le=30)
    sentry_dsn: SecretStr | None = None

    # Text analysis. Each language's detection model costs memory: list only those you need.
    analysis_languages: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["en", "es", "fr", "de", "pt", "it", "nl"],
        description="Languages detected (ISO 639-1 codes, comma-separated).",
    )
    analysis_accuracy: Literal["low", "high"] = Field(
        default="low",
        description="Language detection models: low ~2 MB, high ~28 MB per language.",
    )
    analysis_preload: bool = Field(
        default=False, description="Load the analysis models at start instead of first use."
    )
    analysis_executor: Literal["thread", "process"] = Field(
        default="thread", description="Where analyses run, off the event loop."
    )
    analysis_workers: int = Field(
        default=1, ge=1, le=64, description="Threads or processes for analyses, per API process."
    )
    analysis_keywords: int = Field(default=8, ge=1, le=20, description="Keywords returned.")

    # AI generation (docs/generation.md). The three an OpenAI-compatible endpoint needs: base
    # URL, model, key; the rest bound what one call and one user may cost.
    ai_enabled: bool = Field(default=True, description="Serve the generation routes.")
    ai_provider: Literal["template", "openai"] = Field(
        default="template", description="template: offline, built in; openai: any compatible API."
    )
    ai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; unset: OpenAI's own."
    )
    ai_model: str = Field(default="gpt-4o-mini", min_length=1, max_length=200)
    ai_api_key: SecretStr | None = None
    # Below the request's own deadline, so a provider that hangs is reported as such (504
    # ai_provider_timeout) and counted by the circuit breaker (check_ai_timeout).
    ai_timeout_seconds: float = Field(
        default=20.0, gt=0, le=600, description="One provider call, or a stream's pause."
    )
    ai_max_retries: int = Field(default=2, ge=0, le=5, description="Retries of a failed call.")
    ai_retry_backoff_seconds: float = Field(
        default=0.5, gt=0, le=30, description="First retry's wait; doubled each time, jittered."
    )
    ai_retry_after_max_seconds: float = Field(
        default=5.0,
        ge=0,
        le=120,
        description="Longest upstream Retry-After waited; a longer one goes to the client.",
    )
    ai_breaker_failures: int = Field(
        default=5, ge=1, description="Failures in a row that open the circuit."
    )
    ai_breaker_reset_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="How long the circuit stays open before a trial."
    )
    ai_max_concurrency: int = Field(
        default=16, ge=1, le=1024, description="Provider calls at once, per process."
    )
    ai_queue_timeout_seconds: float = Field(
        default=10.0, ge=0, le=600, description="How long a call waits for a free slot (503)."
    )
    ai_max_tokens: int = Field(default=1024, ge=16, le=32_768, description="Per call.")
    ai_max_temperature: float = Field(default=1.0, ge=0, le=2, description="Higher is capped.")
    ai_default_temperature: float = Field(default=0.7, ge=0, le=2)
    ai_max_response_bytes: int = Field(
        default=1024 * 1024, ge=4096, description="Provider response larger than this: 502."
    )
    ai_daily_tokens_per_user: int = Field(
        default=200_000, ge=0, description="Provider tokens one user may spend a day; 0: no cap."
    )

    # Bulk jobs (docs/jobs.md): limits per user and per job, and how the runners pace them.
    jobs_enabled: bool = Field(
        default=True, description="Run bulk jobs in the API process (the embedded runner)."
    )
    jobs_max_items: int = Field(default=10_000, ge=1, le=100_000, description="Items per job.")
    jobs_max_in_flight: int = Field(
        default=5, ge=1, le=1000, description="Unfinished jobs one user may have."
    )
    jobs_max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Body of a job submit or an import upload."
    )
    jobs_default_concurrency: int = Field(
        default=4, ge=1, le=64, description="Items of one job at once, unless the job asks."
    )
    jobs_max_concurrency: int = Field(
        default=32, ge=1, le=256, description="The most items one job may run at once."
    )
    jobs_runner_concurrency: int = Field(
        default=32, ge=1, le=1024, description="Items at once in one runner, all jobs together."
    )
    jobs_max_attempts: int = Field(default=3, ge=1, le=10, description="Tries of one item.")
    jobs_retry_backoff_seconds: float = Field(
        default=1.0, gt=0, le=300, description="Wait before an item's second try; then doubled."
    )
    jobs_lease_seconds: float = Field(
        default=30.0, ge=1, le=3600, description="A dead runner's items are taken over after this."
    )
    jobs_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often an idle runner looks for work."
    )
    jobs_queue_enabled: bool = Field(
        default=True,
        description="With LP_REDIS_URL: submits announce jobs to the workers on a Redis queue.",
    )
    jobs_queue_stream: str = Field(
        default="lp:jobs:v1",
        min_length=1,
        max_length=200,
        description="The job queue's Redis stream: one per deployment that shares a Redis.",
    )
    jobs_rescan_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="With the queue, how often a worker looks for jobs nobody announced.",
    )

    @field_validator("metrics_allow", "trusted_proxies", mode="before")
    @classmethod
    def split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [ip_network(part.strip()) for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "ratelimit_auth", "ratelimit_read", "ratelimit_write", "ratelimit_ai", "ratelimit_process"
    )
    @classmethod
    def check_rate(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate such as '10/minute' ({exc})") from None
        return value

    @field_validator("analysis_languages", mode="before")
    @classmethod
    def split_languages(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("analysis_languages")
    @classmethod
    def check_languages(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one language")
        for code in value:
            if code not in LANGUAGE_CODES:
                raise ValueError(f"{code!r} is not an ISO 639-1 code lingua knows")
        return list(dict.fromkeys(value))

    @field_validator("database_read_url", mode="before")
    @classmethod
    def unset_when_empty(cls, value: object) -> object:
        # LP_DATABASE_READ_URL= in a compose file or .env means "no replica".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_read_url")
    @classmethod
    def check_read_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # Never echo the URL: it may hold a password.
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(_READ_URL_SHAPE) from None
        # A bare postgresql:// is taken as meant: the replica is read with asyncpg too.
        if url.drivername not in ("postgresql", "postgresql+asyncpg"):
            raise ValueError(_READ_URL_SHAPE)
        return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)

    @field_validator("trusted_hosts", "cors_origins", mode="before")
    @classmethod
    def split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def check_cors(self) -> "Settings":
        if self.cors_allow_credentials and "*" in self.cors_origins:
            # Browsers refuse credentials with a wildcard; echoing any origin instead would hand
            # every site the user's session.
            raise ValueError("LP_CORS_ORIGINS must list origins when LP_CORS_ALLOW_CREDENTIALS")
        return self

    @model_validator(mode="after")
    def check_read_replica(self) -> "Settings":
        if self.database_read_url is None:
            return self
        if not self.database_url.startswith("postgresql"):
            raise ValueError(
                "LP_DATABASE_READ_URL needs LP_DATABASE_URL on PostgreSQL: it names a streaming "
                "replica of that database"
            )
        if not self.redis_url:
            # Read-your-writes: whichever process gets an account's next request must know
            # that the account just wrote, and only Redis is shared by every process.
            raise ValueError(
                "LP_DATABASE_READ_URL needs LP_REDIS_URL: every process must see which accounts "
                "wrote recently, to read their posts from the primary"
            )
        return self

    @model_validator(mode="after")
    def check_ai_timeout(self) -> "Settings":
        remote = self.ai_enabled and self.ai_provider == "openai"
        if remote and self.ai_timeout_seconds >= self.request_timeout_seconds:
            raise ValueError(
                "LP_AI_TIMEOUT_SECONDS must be below LP_REQUEST_TIMEOUT_SECONDS, or the request's "
                "deadline cuts a slow provider call before it is reported and counted"
            )
        return self

    @model_validator(mode="after")
    def check_secret_key(self) -> "Settings":
        if self.env == "production":
            key = self.secret_key.get_secret_value()
            if key == DEFAULT_SECRET_KEY or len(key.encode()) < MIN_SECRET_KEY_BYTES:
                raise InsecureSecretKeyError(
                    "LP_SECRET_KEY must be set to a random value of at least "
                    f"{MIN_SECRET_KEY_BYTES} bytes in production "
                    '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def log_json(self) -> bool:
        return self.env == "production" if self.log_format == "auto" else self.log_format == "json"

    @property
    def docs_on(self) -> bool:
        return self.env != "production" if self.docs_enabled is None else self.docs_enabled


@lru_cache
def get_settings() -> Settings:
    return Settings()
