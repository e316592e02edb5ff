"""deploy/compose.yaml: valid Compose, and the stack it describes starts in order and holds.

There is no Docker engine (nor a compose CLI) here: the file is checked against the Compose
Specification's JSON schema (vendored in compose-spec.json, see README.md beside it), and
variables are interpolated the way compose does before the checks.
"""

import hashlib
import json
import re
import subprocess
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from linkedin_posts.config import Settings
from linkedin_posts.jobs.runner import STOP_SECONDS
from tests.deploy.files import (
    DEPLOY,
    MissingVariableError,
    answers_get,
    compose,
    compose_text,
    env_file,
    example_environment,
    interpolate,
    parse_command,
    required_variables,
    seconds,
    service_commands,
    settings_from,
    unknown_settings,
)

SCHEMA = Path(__file__).with_name("compose-spec.json")
# The vendored schema's digest (README.md): a change to it is deliberate.
SCHEMA_SHA256 = "46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496"
DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY|DSN")


def services() -> dict[str, Any]:
    loaded: dict[str, Any] = compose()["services"]
    return loaded


def app_services() -> dict[str, Any]:
    """The services that run the image built from deploy/Dockerfile."""
    return {
        name: service
        for name, service in services().items()
        if service.get("build", {}).get("dockerfile") == "deploy/Dockerfile"
    }


def api_services() -> dict[str, Any]:
    return {
        name: service
        for name, service in app_services().items()
        if service["command"][:2] == ["linkedin-posts", "serve"]
    }


def address_of(service: str) -> str:
    address: str = services()[service]["networks"]["backend"]["ipv4_address"]
    return address


def test_the_schema_is_the_vendored_one() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))

    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(compose())
    ]

    assert not errors


def test_the_schema_catches_a_misspelled_key() -> None:
    # A control: the validation above would pass anything if the schema allowed anything.
    broken = compose()
    broken["services"]["redis"]["healthckeck"] = broken["services"]["redis"].pop("healthcheck")
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))

    assert any("healthckeck" in error.message for error in validator.iter_errors(broken))


def test_compose_refuses_to_start_without_each_secret() -> None:
    required = required_variables(compose_text())
    loaded = yaml.safe_load(compose_text())

    assert {"LP_SECRET_KEY", "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"} <= required
    for name in required:
        environment = {**example_environment(), name: ""}
        with pytest.raises(MissingVariableError, match=name):
            interpolate(loaded, environment)


def test_the_example_env_file_lists_every_required_variable_and_no_value() -> None:
    example = env_file(DEPLOY / ".env.example")

    assert required_variables(compose_text()) <= set(example)
    assert all(value == "" for value in example.values()), "a value in the example"


def test_no_secret_is_written_in_the_file() -> None:
    # Values as written, before interpolation: a secret may only come from the environment.
    written = yaml.safe_load(compose_text())
    for name, service in written["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert value is None or re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), (name, key)
        url = (service.get("environment") or {}).get("LP_DATABASE_URL")
        if url:
            assert re.search(r"://[^:/]+:\$\{POSTGRES_PASSWORD:\?[^}]*\}@", url), name


def test_every_app_service_runs_a_valid_command() -> None:
    commands = service_commands(compose())

    assert set(app_services()) == {"api-1", "api-2", "worker", "migrate"}
    for name in app_services():
        parse_command(commands[name])


def test_api_services_answer_health_checks_on_readiness() -> None:
    for name, service in api_services().items():
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], name
        code = test[3]
        compile(code, f"{name} healthcheck", "exec")
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", code)
        assert url, code
        port = parse_command(service["command"]).port
        assert int(url[1]) == port, name
        assert url[2] == "/health/ready", name
        assert answers_get(url[2]), name


def test_app_services_start_after_migrations_and_healthy_stores() -> None:
    all_services = services()
    for name in ("api-1", "api-2", "worker"):
        depends = all_services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    assert all_services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert all_services["migrate"]["restart"] == "no"
    # Processes that migrate on their own would race the migrate service.
    for name, service in app_services().items():
        assert settings_from(_lp_environment(service)).should_auto_migrate is False, name


def test_every_awaited_health_is_checked() -> None:
    # `condition: service_healthy` on a service without a health check never starts.
    for name, service in services().items():
        depends = service.get("depends_on") or {}
        # The short form, a list of names, waits only for the start.
        for dependency, how in ({} if isinstance(depends, list) else depends).items():
            if how["condition"] == "service_healthy":
                check = services()[dependency].get("healthcheck", {})
                assert check.get("test"), (name, dependency)
                assert not check.get("disable"), (name, dependency)


def test_redis_is_a_capped_lru_cache() -> None:
    command = services()["redis"]["command"]

    maxmemory = command[command.index("--maxmemory") + 1]
    assert re.fullmatch(r"\d+(kb|mb|gb)?", maxmemory.lower()), maxmemory
    assert command[command.index("--maxmemory-policy") + 1] == "allkeys-lru"


def test_every_mounted_file_exists() -> None:
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else ""
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which is missing"
        build = service.get("build")
        if build:
            context = DEPLOY / build["context"]
            assert (context / build["dockerfile"]).is_file(), name


def test_grafana_reads_the_dashboards_where_provisioning_looks() -> None:
    grafana = DEPLOY / "grafana" / "provisioning"
    provider = yaml.safe_load((grafana / "dashboards" / "linkedin-posts.yml").read_text())
    datasource = yaml.safe_load((grafana / "datasources" / "prometheus.yml").read_text())
    mounts = dict(volume.split(":")[:2] for volume in services()["grafana"]["volumes"])

    (dashboards,) = provider["providers"]
    assert mounts["./grafana/dashboards"] == dashboards["options"]["path"]
    assert mounts["./grafana/provisioning/dashboards"] == "/etc/grafana/provisioning/dashboards"
    assert mounts["./grafana/provisioning/datasources"] == "/etc/grafana/provisioning/datasources"
    (source,) = datasource["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in services()


def test_prometheus_scrapes_each_api_instance_directly(promtool: str) -> None:
    config_file = DEPLOY / "prometheus" / "prometheus.compose.yml"
    mounts = dict(volume.split(":")[:2] for volume in services()["prometheus"]["volumes"])
    config = yaml.safe_load(config_file.read_text())

    result = subprocess.run(
        [promtool, "check", "config", str(config_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert mounts["./prometheus/prometheus.compose.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "linkedin-posts"]
    targets = {target for group in job["static_configs"] for target in group["targets"]}
    ports = {name: parse_command(s["command"]).port for name, s in api_services().items()}
    assert targets == {f"{name}:{port}" for name, port in ports.items()}


def test_the_compose_prometheus_config_is_the_main_one_but_for_targets() -> None:
    prometheus = DEPLOY / "prometheus"
    main = yaml.safe_load((prometheus / "prometheus.yml").read_text())
    copy = yaml.safe_load((prometheus / "prometheus.compose.yml").read_text())

    assert copy["global"] == main["global"]
    assert copy["rule_files"] == main["rule_files"]

    def without_targets(config: dict[str, Any]) -> dict[str, Any]:
        (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "linkedin-posts"]
        return {key: value for key, value in job.items() if key != "static_configs"}

    assert without_targets(copy) == without_targets(main)


def _lp_environment(service: dict[str, Any]) -> dict[str, str]:
    """The LP_ variables a container gets; a bare name passes the caller's value, here none."""
    environment = service.get("environment") or {}
    return {k: str(v) for k, v in environment.items() if k.startswith("LP_") and v is not None}


def test_app_environment_is_valid_production_settings() -> None:
    for name, service in app_services().items():
        environment = service["environment"]
        assert not unknown_settings(list(environment)), name

        settings = settings_from(_lp_environment(service))

        assert settings.env == "production", name
        assert settings.database_url.startswith("postgresql+asyncpg://"), name
        assert settings.redis_url, name


def test_only_nginx_is_a_trusted_proxy_and_only_prometheus_may_scrape() -> None:
    nginx, prometheus = ip_address(address_of("nginx")), ip_address(address_of("prometheus"))
    subnet = compose()["networks"]["backend"]["ipam"]["config"][0]["subnet"]
    for name, service in api_services().items():
        settings = settings_from(_lp_environment(service))

        assert any(nginx in network for network in settings.trusted_proxies), name
        assert not any(prometheus in network for network in settings.trusted_proxies), name
        assert any(prometheus in network for network in settings.metrics_allow), name
        # Through nginx /metrics is refused: the API sees nginx as the peer.
        assert not any(nginx in network for network in settings.metrics_allow), name
        assert all(str(network) != subnet for network in settings.metrics_allow), name


def test_rate_limit_shares_count_every_api_process() -> None:
    processes = sum(parse_command(s["command"]).workers for s in api_services().values())
    for name, service in api_services().items():
        settings = settings_from(_lp_environment(service))
        assert settings.ratelimit_expected_instances == processes, name


def test_database_connections_fit_postgres() -> None:
    command = services()["postgres"]["command"]
    max_connections = int(
        next(arg.split("=", 1)[1] for arg in command if arg.startswith("max_connections="))
    )
    needed = 0
    for service in app_services().values():
        settings = settings_from(_lp_environment(service))
        per_process = settings.db_pool_size + settings.db_pool_max_overflow
        per_process += settings.db_read_pool_size
        args = parse_command(service["command"])
        needed += per_process * getattr(args, "workers", 1)

    assert needed < max_connections


def test_stops_are_graceful() -> None:
    for name in api_services():
        grace = seconds(services()[name]["stop_grace_period"])
        # Requests in flight get their whole deadline, then the lifespan closes the pools.
        assert grace > DEFAULTS.request_timeout_seconds + 5, name
    # A stopped worker waits for its items, cancels the rest, then hands them back: each step
    # bounded by STOP_SECONDS.
    assert seconds(services()["worker"]["stop_grace_period"]) > 3 * STOP_SECONDS
