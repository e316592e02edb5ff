"""deploy/k8s/: valid for the Kubernetes versions named below, and wired together.

No cluster here: kubernetes-validate checks each manifest against the OpenAPI schemas it
bundles (strict: an unknown field fails), and the tests check what a schema cannot see.
"""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from linkedin_posts.config import Settings
from tests.deploy.files import (
    answers_get,
    manifest,
    manifest_files,
    manifests,
    parse_command,
    pod_templates,
    settings_from,
    unknown_settings,
)

# The oldest and the newest Kubernetes the manifests are checked against (kubernetes-validate
# bundles schemas up to its own version).
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
API = "Deployment/linkedin-posts-api"
DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]
# Environment variables the containers get that are not settings of the app.
OTHER_ENVIRONMENT = {"PROMETHEUS_MULTIPROC_DIR"}


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    all_containers: list[dict[str, Any]] = spec["containers"] + spec.get("initContainers", [])
    return all_containers


def api_container() -> dict[str, Any]:
    (container,) = pod_templates()[API]["spec"]["containers"]
    return container


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def strong_secret() -> dict[str, str]:
    """The Secret template, filled in as an operator would."""
    data: dict[str, str] = dict(manifest("Secret", "linkedin-posts")["stringData"])
    return {**data, "LP_SECRET_KEY": "k" * 48}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_manifests_pass_the_kubernetes_schemas(path: Path, version: str) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]

    assert documents
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validation_catches_a_misspelled_field() -> None:
    # A control: strict mode is what makes the check above catch typos.
    deployment = manifest("Deployment", "linkedin-posts-api")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")

    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_probes_ask_routes_the_app_serves_on_the_port_it_listens_on() -> None:
    for workload, template in pod_templates().items():
        for container in containers(template):
            ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                if kind not in container:
                    continue
                probe = container[kind]["httpGet"]
                assert answers_get(probe["path"]), (workload, kind, probe["path"])
                port = ports.get(probe["port"], probe["port"])
                assert port == parse_command(container["command"]).port, (workload, kind)


def test_the_api_is_ready_with_its_stores_and_alive_on_its_own() -> None:
    container = api_container()

    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    # Liveness touches nothing else: a database outage must not restart healthy processes.
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    # The readiness route bounds its checks: a failure is answered (503) before the probe
    # gives up on the request.
    timeout = container["readinessProbe"]["timeoutSeconds"]
    assert timeout > DEFAULTS.health_timeout_seconds


def test_api_pods_drain_before_they_stop() -> None:
    spec = pod_templates()[API]["spec"]
    command = api_container()["lifecycle"]["preStop"]["exec"]["command"]

    assert command[0] == "sleep"
    drain = int(command[1])
    assert drain >= 5
    # Then SIGTERM: requests in flight get their whole deadline before SIGKILL.
    grace = spec["terminationGracePeriodSeconds"]
    assert grace > drain + DEFAULTS.request_timeout_seconds + 5


def test_the_service_routes_to_api_pods_only() -> None:
    service = manifest("Service", "linkedin-posts")
    selector = service["spec"]["selector"]

    for workload, template in pod_templates().items():
        labels = template["metadata"]["labels"]
        assert selects(selector, labels) == (workload == API), workload
    container = api_container()
    (port,) = service["spec"]["ports"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    target = ports.get(port["targetPort"], port["targetPort"])
    assert target == parse_command(container["command"]).port


def test_deployments_select_their_own_pods() -> None:
    for document in manifests():
        if document["kind"] == "Deployment":
            selector = document["spec"]["selector"]["matchLabels"]
            labels = document["spec"]["template"]["metadata"]["labels"]
            assert selects(selector, labels), document["metadata"]["name"]


def test_the_autoscaler_scales_the_api_deployment_on_cpu() -> None:
    hpa = manifest("HorizontalPodAutoscaler", "linkedin-posts-api")
    target = hpa["spec"]["scaleTargetRef"]
    deployment = manifest(target["kind"], target["name"])
    pdb = manifest("PodDisruptionBudget", "linkedin-posts-api")

    assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
    assert f"Deployment/{deployment['metadata']['name']}" == API
    # Utilization is measured against the request: without one the autoscaler does nothing.
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        assert container["resources"]["requests"]["cpu"], container["name"]
    # A replicas field would reset the autoscaler's count on every apply.
    assert "replicas" not in deployment["spec"]
    # Drains must be able to take a pod at the smallest size.
    assert hpa["spec"]["minReplicas"] >= 2
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    api_labels = pod_templates()[API]["metadata"]["labels"]
    assert selects(pdb["spec"]["selector"]["matchLabels"], api_labels)


def test_containers_run_as_non_root_on_a_read_only_file_system() -> None:
    for workload, template in pod_templates().items():
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, workload
        assert spec["automountServiceAccountToken"] is False, workload
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in containers(template):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, workload
            assert context["allowPrivilegeEscalation"] is False, workload
            assert context["capabilities"]["drop"] == ["ALL"], workload
            # Where the app writes (temporary files, the workers' metrics files) is a volume.
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert "emptyDir" in volumes[mounts["/tmp"]], workload
            for variable in container.get("env", []):
                if variable["name"] == "PROMETHEUS_MULTIPROC_DIR":
                    assert any(variable["value"].startswith(m + "/") for m in mounts), workload


def test_every_container_runs_a_valid_command_of_one_image() -> None:
    images = set()
    commands = {}
    for workload, template in pod_templates().items():
        for container in containers(template):
            images.add(container["image"])
            commands[workload] = parse_command(container["command"]).command

    assert len(images) == 1, images
    assert commands == {
        API: "serve",
        "Deployment/linkedin-posts-worker": "worker",
        "Job/linkedin-posts-migrate": "migrate",
    }
    assert pod_templates()["Job/linkedin-posts-migrate"]["spec"]["restartPolicy"] == "Never"


def test_pods_read_the_config_map_and_secret_defined_here() -> None:
    defined = {(m["kind"], m["metadata"]["name"]) for m in manifests()}
    for workload, template in pod_templates().items():
        for container in containers(template):
            for source in container["envFrom"]:
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in defined, workload
                else:
                    assert ("Secret", source["secretRef"]["name"]) in defined, workload


def test_every_variable_is_a_setting_of_the_app_with_a_valid_value() -> None:
    config = manifest("ConfigMap", "linkedin-posts")["data"]
    names = list(config) + list(strong_secret())
    for template in pod_templates().values():
        for container in containers(template):
            names += [v["name"] for v in container.get("env", [])]

    assert not unknown_settings(names)
    assert not {name for name in names if not name.startswith("LP_")} - OTHER_ENVIRONMENT
    settings = settings_from({**config, **strong_secret()})
    assert settings.env == "production"
    assert settings.should_auto_migrate is False
    assert settings.trusted_proxies, "behind an ingress every client would share its limits"


def test_the_secret_template_cannot_start_a_production_server() -> None:
    template = manifest("Secret", "linkedin-posts")["stringData"]
    config = manifest("ConfigMap", "linkedin-posts")["data"]

    with pytest.raises(ValidationError, match="LP_SECRET_KEY"):
        settings_from({**config, **template})
