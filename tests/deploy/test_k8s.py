"""deploy/k8s: the manifests parse, name themselves, and fit together."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.files import DEPLOY, load_yaml, load_yaml_documents, settings_env_names
from web.settings import load_settings

K8S = DEPLOY / "k8s"
NOT_IN_KUSTOMIZATION = {"secret.example.yaml", "migrate-job.yaml"}  # applied by hand (README)


def manifest_files() -> list[Path]:
    files = sorted(K8S.glob("*.yaml"))
    assert files
    return [f for f in files if f.name != "kustomization.yaml"]


def documents() -> list[dict[str, Any]]:
    return [doc for path in manifest_files() for doc in load_yaml_documents(path)]


def find(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_every_manifest_parses_with_api_version_kind_and_name() -> None:
    for path in manifest_files():
        docs = load_yaml_documents(path)
        assert docs, f"{path.name} is empty"
        for doc in docs:
            assert isinstance(doc, dict), path.name
            assert doc.get("apiVersion") and doc.get("kind"), path.name
            assert doc.get("metadata", {}).get("name"), f"{path.name}: {doc['kind']} has no name"
            if doc["kind"] != "Namespace":
                assert doc["metadata"].get("namespace") == "sanke", path.name


def test_kustomization_lists_every_manifest_but_those_applied_by_hand() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    for resource in resources:
        assert (K8S / resource).is_file(), resource
    assert {p.name for p in manifest_files()} - set(resources) == NOT_IN_KUSTOMIZATION
    (image,) = kustomization["images"]
    app_image = find("Deployment", "sanke-app")["spec"]["template"]["spec"]["containers"][0]
    assert app_image["image"].split(":")[0] == image["name"]


def test_the_app_deployment_runs_two_replicas_probed_on_health() -> None:
    deployment = find("Deployment", "sanke-app")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]
    assert spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["sanke", "serve"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    (volume,) = pod["spec"]["volumes"]
    assert mounts[volume["name"]] == "/var/lib/sanke"
    claim = find("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # shared by the replicas


def test_the_service_and_the_ingress_reach_the_app_pods() -> None:
    pod_labels = find("Deployment", "sanke-app")["spec"]["template"]["metadata"]["labels"]
    service = find("Service", "sanke-app")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "http"
    ((rule_path,),) = [r["http"]["paths"] for r in find("Ingress", "sanke")["spec"]["rules"]]
    backend = rule_path["backend"]["service"]
    assert (backend["name"], backend["port"]["name"]) == ("sanke-app", port["name"])


def test_pods_read_settings_from_objects_that_exist_and_only_real_settings() -> None:
    config = find("ConfigMap", "sanke-config")["data"]
    secret = find("Secret", "sanke-secrets")["stringData"]
    for kind in ("Deployment", "Job"):
        (workload,) = [d for d in documents() if d["kind"] == kind]
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        sources = {(ref, src[ref]["name"]) for src in container["envFrom"] for ref in src}
        assert sources == {("configMapRef", "sanke-config"), ("secretRef", "sanke-secrets")}
    named = {k for k in (*config, *secret) if k.startswith("SANKE_")}
    assert sorted(named - settings_env_names()) == [], "not settings of web/settings.py"
    assert "SANKE_SECRET_KEY" in secret and "SANKE_DATABASE_URL" in secret
    assert "SANKE_SECRET_KEY" not in config


def test_the_example_settings_are_accepted_once_the_secret_is_filled_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = find("ConfigMap", "sanke-config")["data"]
    secret = find("Secret", "sanke-secrets")["stringData"]
    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in {**config, **secret}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SANKE_SECRET_KEY", secrets.token_urlsafe(48))
    settings = load_settings()
    assert settings.base_url == "https://sanke.example.edu.cn"
    assert settings.effective_database_url.startswith("postgresql+psycopg://sanke:")


def test_postgres_and_redis_are_stateful_sets_with_services_and_probes() -> None:
    for name, port in (("postgres", 5432), ("redis", 6379)):
        stateful = find("StatefulSet", name)
        assert stateful["spec"]["serviceName"] == name
        service = find("Service", name)
        assert [p["port"] for p in service["spec"]["ports"]] == [port]
        (container,) = stateful["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"] and container["livenessProbe"]
    (postgres,) = find("StatefulSet", "postgres")["spec"]["template"]["spec"]["containers"]
    assert postgres["image"].startswith("postgres:16")
    (redis,) = find("StatefulSet", "redis")["spec"]["template"]["spec"]["containers"]
    assert redis["image"].startswith("redis:7")


def test_the_livekit_values_use_the_redis_and_key_secret_defined_here() -> None:
    values = load_yaml(K8S / "livekit" / "values.yaml")
    assert values["livekit"]["redis"]["address"] == "redis:6379"
    existing = values["storeKeysInSecret"]["existingSecret"]
    keys = find("Secret", existing)["stringData"]
    assert set(keys) == {values["livekit"]["key_file"]}
    readme = (K8S / "README.md").read_text("utf-8")
    assert "helm install livekit livekit/livekit-server" in readme
