"""deploy/: the Prometheus config, alerts and Grafana dashboard are valid and watch real metrics."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import IN_CI, REPO_ROOT, Account
from tests.observability.test_metrics import create_post, parse

PROMETHEUS = REPO_ROOT / "deploy" / "prometheus"
GRAFANA = REPO_ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "linkedin-posts.json"

# The only names the alerts and the dashboard may use before the service exports them: those
# of parts still to come. Each part removes its names here when it lands (a test below fails
# until it does), so this list only ever shrinks.
LATER: set[str] = set()
METRIC_NAME = re.compile(r"\blp_[a-z0-9_]*[a-z0-9]\b")
# What Grafana substitutes before a query reaches Prometheus.
DASHBOARD_VARIABLES = {
    "$__rate_interval": "5m",
    "$job": "linkedin-posts",
    "$instance": ".*",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is not installed (Debian package `prometheus`)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def check(promtool: str, *args: str) -> str:
    result = subprocess.run(
        [promtool, "check", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_queries() -> list[str]:
    board = dashboard()
    queries = [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]
    templating = board["templating"]["list"]
    queries += [var["definition"] for var in templating if var["type"] == "query"]
    return queries


def test_alert_rules_pass_promtool(promtool: str) -> None:
    output = check(promtool, "rules", str(PROMETHEUS / "alerts.yml"))

    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_prometheus_config_passes_promtool(promtool: str) -> None:
    output = check(promtool, "config", str(PROMETHEUS / "prometheus.yml"))

    assert "SUCCESS: 1 rule files found" in output


def test_every_dashboard_query_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    # promtool checks PromQL in rule files: each panel query becomes a recording rule.
    rules = []
    for number, query in enumerate(dashboard_queries()):
        expr = query
        for variable, value in DASHBOARD_VARIABLES.items():
            expr = expr.replace(variable, value)
        if expr.startswith("label_values("):
            expr = expr.removeprefix("label_values(").rsplit(",", 1)[0]
        assert "$" not in expr, f"a dashboard variable this test does not know: {query}"
        rules.append({"record": f"dashboard:query_{number}", "expr": expr})
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))

    check(promtool, "rules", str(rule_file))


def test_the_dashboard_reads_the_provisioned_prometheus() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (prometheus,) = datasources["datasources"]
    variables = {var["name"]: var for var in dashboard()["templating"]["list"]}

    assert prometheus["type"] == variables["datasource"]["query"] == "prometheus"
    assert prometheus["uid"] == variables["datasource"]["current"]["value"]
    for panel in dashboard()["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]


async def test_every_metric_in_alerts_and_dashboard_is_exported(
    client: httpx.AsyncClient, account: Account
) -> None:
    post_id = await create_post(client, account)
    await client.get(f"/v1/posts/{post_id}", headers=account.headers)
    await client.get("/no/such/path")
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200

    exported = {base_name(name) for name, _labels in parse(scrape.text)}
    used = {
        base_name(name)
        for query in [rule["expr"] for rule in alert_rules()] + dashboard_queries()
        for name in METRIC_NAME.findall(query)
    }

    assert used - exported <= LATER, f"used, not exported, not announced: {used - exported - LATER}"
    assert not LATER & exported, f"exported now, remove from LATER: {LATER & exported}"
    assert not LATER - used, f"no longer used, remove from LATER: {LATER - used}"


def base_name(sample: str) -> str:
    return re.sub(r"_(bucket|count|sum)$", "", sample)
