"""Settings: profiles, the production guard rails, derived switches and the .env file."""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from linkedin_posts.config import DEFAULT_SECRET_KEY, Settings, get_settings
from linkedin_posts.main import create_app

STRONG_KEY = "s" * 40
SQLITE_URL = "sqlite+aiosqlite:///var/linkedin_posts.db"
POSTGRES_URL = "postgresql+asyncpg://lp:secret@db.internal:5432/lp"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No LP_ variable from the caller, no .env from the checkout, no cached settings."""
    for name in [name for name in os.environ if name.startswith("LP_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def settings_for(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def client_for(settings: Settings | None) -> AsyncIterator[httpx.AsyncClient]:
    """A client for create_app(settings); no lifespan: these requests never reach the database."""
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def assert_not_found_problem(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert response.json()["status"] == 404


# --- profiles and docs ---------------------------------------------------------------------


def test_defaults_are_the_embedded_development_shape() -> None:
    settings = settings_for()

    assert settings.env == "development"
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert settings.docs_on
    assert settings.should_auto_migrate
    assert settings.ai_provider == "template"


async def test_production_serves_no_docs_by_default(tmp_path: Path) -> None:
    settings = settings_for(
        env="production", secret_key=STRONG_KEY, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"
    )
    async with client_for(settings) as client:
        for path in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect"):
            assert_not_found_problem(await client.get(path))


async def test_production_can_turn_the_docs_on(tmp_path: Path) -> None:
    settings = settings_for(
        env="production",
        secret_key=STRONG_KEY,
        docs_enabled=True,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
    )
    async with client_for(settings) as client:
        spec = await client.get("/openapi.json")
        docs = await client.get("/docs")

    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "LinkedIn Posts API"
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("env", ["development", "test"])
async def test_other_profiles_serve_docs_by_default(tmp_path: Path, env: str) -> None:
    settings = settings_for(env=env, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    async with client_for(settings) as client:
        spec = await client.get("/openapi.json")
        docs = await client.get("/docs")

    assert spec.status_code == 200
    assert "/v1/auth/register" in spec.json()["paths"]
    assert docs.status_code == 200


async def test_docs_can_be_turned_off_outside_production(tmp_path: Path) -> None:
    settings = settings_for(docs_enabled=False, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    async with client_for(settings) as client:
        assert_not_found_problem(await client.get("/docs"))
        assert_not_found_problem(await client.get("/openapi.json"))


# --- the production secret key -------------------------------------------------------------


@pytest.mark.parametrize(
    "secret_key",
    [DEFAULT_SECRET_KEY, "0123456789", "x" * 31, "é" * 15],
    ids=["default", "10-bytes", "31-bytes", "30-bytes-in-15-chars"],
)
def test_production_refuses_a_weak_secret_key(secret_key: str) -> None:
    with pytest.raises(ValidationError, match="LP_SECRET_KEY") as caught:
        settings_for(env="production", secret_key=secret_key)

    assert secret_key not in str(caught.value)


def test_production_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(ValidationError, match="LP_SECRET_KEY"):
        settings_for(env="production")


def test_a_refused_configuration_does_not_print_other_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The error is what lands in a log or a terminal when the app is started without the CLI
    # (e.g. `uvicorn --factory linkedin_posts.main:create_app`).
    monkeypatch.setenv("LP_ENV", "production")
    monkeypatch.setenv("LP_SECRET_KEY", "too-short")
    monkeypatch.setenv("LP_DATABASE_URL", "postgresql+asyncpg://lp:db-password-42@db/lp")
    monkeypatch.setenv("LP_AI_API_KEY", "sk-live-provider-secret")

    with pytest.raises(ValidationError, match="LP_SECRET_KEY") as caught:
        get_settings()

    message = str(caught.value)
    for secret in ("too-short", "db-password-42", "sk-live-provider-secret"):
        # pydantic shortens long values to their head and tail: look for any 8-character piece.
        pieces = {secret[i : i + 8] for i in range(len(secret) - 7)}
        assert not [piece for piece in pieces if piece in message], message


@pytest.mark.parametrize("secret_key", ["x" * 32, "é" * 16, STRONG_KEY], ids=["32", "16x2", "40"])
def test_production_accepts_a_key_of_32_bytes_or_more(secret_key: str) -> None:
    settings = settings_for(env="production", secret_key=secret_key)

    assert settings.secret_key.get_secret_value() == secret_key
    assert secret_key not in repr(settings)
    assert not settings.docs_on


# --- derived switches ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (SQLITE_URL, True),
        ("sqlite+aiosqlite:///:memory:", True),
        (POSTGRES_URL, False),
        ("postgresql://lp@localhost/lp", False),
    ],
)
def test_auto_migrate_defaults_to_sqlite_only(url: str, expected: bool) -> None:
    assert settings_for(database_url=url).should_auto_migrate is expected


@pytest.mark.parametrize(("url", "value"), [(SQLITE_URL, False), (POSTGRES_URL, True)])
def test_auto_migrate_can_be_set_either_way(url: str, value: bool) -> None:
    assert settings_for(database_url=url, auto_migrate=value).should_auto_migrate is value


def test_environment_variables_use_the_lp_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LP_DATABASE_URL", POSTGRES_URL)
    monkeypatch.setenv("LP_AUTO_MIGRATE", "true")
    monkeypatch.setenv("LP_API_KEYS_PER_USER", "3")
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///not-ours.db")

    settings = settings_for()

    assert settings.database_url == POSTGRES_URL
    assert settings.should_auto_migrate is True
    assert settings.api_keys_per_user == 3


def test_unknown_lp_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LP_SOMETHING_FROM_A_LATER_VERSION", "1")

    assert settings_for().env == "development"


@pytest.mark.parametrize(
    ("name", "value"),
    [("LP_ENV", "staging"), ("LP_DB_POOL_SIZE", "0"), ("LP_ACCESS_TOKEN_TTL_SECONDS", "10")],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError):
        settings_for()


def test_a_provider_timeout_must_end_before_the_requests_own_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LP_REQUEST_TIMEOUT_SECONDS", "10")
    monkeypatch.setenv("LP_AI_TIMEOUT_SECONDS", "10")
    assert settings_for().ai_provider == "template"  # which calls no one: nothing to cut
    monkeypatch.setenv("LP_AI_PROVIDER", "openai")

    with pytest.raises(ValidationError, match="LP_AI_TIMEOUT_SECONDS must be below"):
        settings_for()
    monkeypatch.setenv("LP_AI_TIMEOUT_SECONDS", "9.5")
    assert settings_for().ai_timeout_seconds == 9.5


# --- .env file -----------------------------------------------------------------------------


def write_env_file(directory: Path, *lines: str) -> None:
    (directory / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    write_env_file(
        tmp_path,
        "# written by an operator",
        "LP_ENV=production",
        f"LP_SECRET_KEY={STRONG_KEY}",
        f"LP_DATABASE_URL={POSTGRES_URL}",
        "LP_API_KEYS_PER_USER=5",
        "UNRELATED=1",
    )

    settings = get_settings()

    assert settings.env == "production"
    assert settings.secret_key.get_secret_value() == STRONG_KEY
    assert settings.database_url == POSTGRES_URL
    assert settings.api_keys_per_user == 5
    assert not settings.should_auto_migrate
    assert not settings.docs_on


def test_the_environment_wins_over_the_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env_file(tmp_path, "LP_API_KEYS_PER_USER=5", f"LP_DATABASE_URL={POSTGRES_URL}")
    monkeypatch.setenv("LP_API_KEYS_PER_USER", "7")

    settings = get_settings()

    assert settings.api_keys_per_user == 7
    assert settings.database_url == POSTGRES_URL


def test_a_weak_key_in_the_dotenv_file_is_refused_in_production(tmp_path: Path) -> None:
    write_env_file(tmp_path, "LP_ENV=production", "LP_SECRET_KEY=0123456789")

    with pytest.raises(ValidationError, match="LP_SECRET_KEY"):
        get_settings()


def test_without_a_dotenv_file_the_defaults_apply() -> None:
    settings = get_settings()

    assert settings.env == "development"
    assert settings.database_url == SQLITE_URL


async def test_an_app_built_from_the_dotenv_file_uses_it(tmp_path: Path) -> None:
    write_env_file(
        tmp_path,
        "LP_ENV=production",
        f"LP_SECRET_KEY={STRONG_KEY}",
        f"LP_DATABASE_URL=sqlite+aiosqlite:///{tmp_path}/x.db",
    )

    # create_app() without arguments reads get_settings(), which reads the .env file.
    async with client_for(None) as client:
        assert_not_found_problem(await client.get("/openapi.json"))
