"""deploy/compose.yaml and deploy/.env.example, checked without a container engine (and with
``docker compose config`` where Compose is installed)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tomllib
from typing import Any

import pytest

from rooms.inspections import CHECKLIST
from tests.deploy.files import (
    COMPOSE,
    DEPLOY,
    ENV_EXAMPLE,
    ROOT,
    Unset,
    compose,
    load_yaml,
    read_env_file,
    resolve,
    settings_env_names,
    strings,
    variables,
)
from web.settings import MediaBackend, SettingsError, load_settings

ONE_SHOT = {"migrate"}  # run to completion before the replicas start; no health to check
OWNED_BY_COMPOSE = re.compile(r"^#\s*(SANKE_[A-Z0-9_]+)\s+set by compose\.yaml\b", re.M)


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict) and found
    return found


def example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


def resolved() -> dict[str, Any]:
    result = resolve(compose(), example())
    assert isinstance(result, dict)
    return result


def compose_command() -> list[str] | None:
    """``docker compose`` (v2) where it is installed, else Debian's ``docker-compose``."""
    if shutil.which("docker") is not None:
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_docker_compose_accepts_the_file_with_the_example_settings() -> None:
    command = compose_command()
    if command is None:  # .ci/run installs docker-compose, so CI never skips this
        if os.environ.get("CI"):
            pytest.fail("neither docker compose nor docker-compose is installed")
        pytest.skip("docker compose is not installed here")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_service_has_an_image_or_a_build_and_a_health_check() -> None:
    for name, service in services().items():
        assert service.get("image") or service.get("build"), f"{name}: no image and no build"
        if name in ONE_SHOT:
            assert service.get("restart") == "no", f"{name}: a one-shot service must not restart"
            continue
        check = service.get("healthcheck")
        assert isinstance(check, dict) and not check.get("disable"), f"{name}: no health check"
        test = check.get("test")
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name


def test_one_shot_services_are_exactly_those_others_wait_to_complete() -> None:
    awaited = {
        target
        for service in services().values()
        for target, rule in (service.get("depends_on") or {}).items()
        if rule.get("condition") == "service_completed_successfully"
    }
    assert awaited == ONE_SHOT


def test_the_app_runs_two_replicas_of_sanke_serve_checked_on_health() -> None:
    app = resolved()["services"]["app"]
    assert app["deploy"]["replicas"] == 2
    assert app["command"] == ["sanke", "serve"]
    assert app["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    check = " ".join(app["healthcheck"]["test"])
    assert f"http://127.0.0.1:{app['environment']['SANKE_PORT']}/health" in check
    assert app["environment"]["SANKE_HOST"] == "0.0.0.0"
    assert "data:/var/lib/sanke" in app["volumes"]
    assert app["environment"]["SANKE_DATA_DIR"] == "/var/lib/sanke"


def test_depends_on_names_existing_services_and_waits_for_what_they_offer() -> None:
    known = services()
    for name, service in known.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, rule in depends.items():
            assert target in known, f"{name} depends on unknown service {target}"
            assert target not in known[target].get("depends_on", {}), "a cycle"
            condition = rule.get("condition")
            if condition == "service_healthy":
                assert "healthcheck" in known[target], f"{name} waits on {target}'s health"
            else:
                assert condition == "service_completed_successfully", f"{name} -> {target}"
            if known[target].get("profiles"):  # a profile's service is absent by default
                assert set(service.get("profiles", [])) >= set(known[target]["profiles"])


def test_every_variable_the_compose_file_reads_is_in_env_example_and_none_is_stale() -> None:
    used = set(variables(compose()))
    assert used, "compose.yaml reads no variables?"
    listed = set(example()) - {"COMPOSE_PROJECT_NAME"}  # read by Compose itself
    assert sorted(used - listed) == [], "read by compose.yaml but not in .env.example"
    assert sorted(listed - used) == [], "in .env.example but read by nothing"


def test_required_variables_are_required_and_the_example_resolves_them_all() -> None:
    uses = variables(compose())
    required = {name for name, forms in uses.items() if any(op == ":?" for op, _ in forms)}
    assert {"POSTGRES_PASSWORD", "SANKE_SECRET_KEY", "PUBLIC_DOMAIN", "TLS_CERT_DIR"} <= required
    for name in required:
        with pytest.raises(Unset, match=name):
            resolve(compose(), {k: v for k, v in example().items() if k != name})
    leftover = [s for s in strings(resolved()) if "${" in s]
    assert leftover == [], "interpolation forms this check (and old Compose) cannot read"


def test_the_example_file_has_one_setting_per_line_and_a_comment_for_each() -> None:
    lines = ENV_EXAMPLE.read_text("utf-8").splitlines()
    assignment = re.compile(r"[A-Z_][A-Z0-9_]*=")
    for number, line in enumerate(lines):
        if assignment.match(line):  # the block of settings it belongs to starts under a comment
            above = number - 1
            while above >= 0 and assignment.match(lines[above]):
                above -= 1
            assert above >= 0 and lines[above].startswith("#"), f"no comment above {line!r}"
    for name, value in example().items():
        if name.endswith(("PASSWORD", "SECRET", "SECRET_KEY")) or name == "LIVEKIT_API_KEY":
            assert value == "change-me", f"{name}: the example must hold a placeholder"


def test_every_sanke_setting_is_in_env_example() -> None:
    settings = settings_env_names()
    assert {"SANKE_DATABASE_URL", "SANKE_SECRET_KEY", "SANKE_LIVEKIT_URL"} <= settings
    text = ENV_EXAMPLE.read_text("utf-8")
    assigned = {name for name in example() if name.startswith("SANKE_")}
    owned = set(OWNED_BY_COMPOSE.findall(text))
    assert assigned & owned == set(), "a setting both chosen in .env and set by compose.yaml"
    assert sorted(settings - assigned - owned) == [], "settings missing from .env.example"
    assert sorted((assigned | owned) - settings) == [], "not settings of web/settings.py"
    for name in assigned:  # each documented where it is chosen
        assert re.search(rf"^# {name}: ", text, re.M), f"{name}: no comment naming it"


def test_the_compose_file_sets_every_setting_the_way_env_example_says() -> None:
    text = ENV_EXAMPLE.read_text("utf-8")
    owned = set(OWNED_BY_COMPOSE.findall(text))
    environment = compose()["x-sanke-environment"]
    sanke = {name for name in environment if name.startswith("SANKE_")}
    assert sanke == settings_env_names(), "the Sanke containers get every setting"
    for name in sanke:
        reads_own_variable = f"${{{name}" in str(environment[name])
        assert reads_own_variable == (name not in owned), name
    for name in ("app", "migrate", "recorder"):
        assert services()[name]["environment"] == environment, f"{name}: other settings"


def test_the_resolved_settings_are_accepted_by_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = resolved()["x-sanke-environment"]
    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    with pytest.raises(SettingsError, match="SANKE_SECRET_KEY"):
        load_settings()  # the example's change-me is refused in production
    monkeypatch.setenv("SANKE_SECRET_KEY", secrets.token_urlsafe(48))
    settings = load_settings()
    assert settings.base_url == "https://sanke.example.edu.cn"
    assert settings.effective_database_url == (
        "postgresql+psycopg://sanke:change-me@postgres:5432/sanke"
    )
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.media_backend is MediaBackend.LIVEKIT
    assert settings.livekit_url == "wss://livekit.example.edu.cn"
    assert settings.patrol_checklist == list(CHECKLIST)  # the example keeps the default
    assert (settings.retention, settings.review_rubrics, settings.record) == ({}, {}, False)
    assert settings.metrics_token is None


def test_files_mounted_from_the_repository_exist() -> None:
    mounted = []
    for name, service in resolved()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                path = (DEPLOY / source).resolve()
                assert path.is_file(), f"{name}: {source} does not exist"
                mounted.append(path.relative_to(DEPLOY).as_posix())
            else:  # a named volume, or an absolute host path chosen in .env
                assert source.startswith("/") or source in compose()["volumes"], (name, source)
    assert {"livekit/livekit.yaml", "coturn/turnserver.conf"} <= set(mounted)
    build = services()["app"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"


def test_every_named_volume_is_declared_and_used() -> None:
    declared = set(compose()["volumes"])
    used = {
        volume.split(":")[0]
        for service in services().values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/", "$"))
    }
    assert used == declared


def test_the_dockerfile_installs_every_package_with_ffmpeg() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text("utf-8")
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", dockerfile, re.M)
    (apt,) = re.findall(r"apt-get install (.*)", dockerfile)
    assert {"ffmpeg", "chromium", "fonts-noto-cjk"} <= set(apt.split())
    assert compose()["x-sanke-environment"]["SANKE_PDF_CHROMIUM"] == "/usr/bin/chromium"
    assert re.search(r"^RUN pip install \.", dockerfile, re.M)
    assert 'CMD ["sanke", "serve"]' in dockerfile
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = set(re.findall(r"^COPY (\S+)/ \1/$", dockerfile, re.M))
    assert sorted(set(packages) - copied) == [], "packages pyproject.toml lists but not copied"
    for name in (*packages, project["project"]["readme"]):
        assert (ROOT / name).exists(), name
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text("utf-8").split()
    assert not set(ignored) & {*packages, "pyproject.toml", "README.md"}


def test_livekit_gets_its_placeholders_from_the_environment_and_no_secret_from_the_file() -> None:
    config_text = (DEPLOY / "livekit" / "livekit.yaml").read_text("utf-8")
    placeholders = set(re.findall(r"@([A-Z_]+)@", config_text))
    livekit = services()["livekit"]
    script = " ".join(livekit["entrypoint"])
    assert set(re.findall(r"s\|@([A-Z_]+)@\|\$\$\1\|g", script)) == placeholders
    assert placeholders <= set(livekit["environment"])
    assert "exec /livekit-server --config /tmp/livekit.yaml" in script
    assert "LIVEKIT_KEYS" in livekit["environment"]
    config = load_yaml(DEPLOY / "livekit" / "livekit.yaml")
    assert "keys" not in config and "change-me" not in config_text
    assert config["rtc"]["port_range_start"] == 50000 and config["rtc"]["port_range_end"] == 60000
    assert config["rtc"]["tcp_port"] == 7881 and config["turn"]["enabled"] is False


def test_the_host_network_services_reach_redis_where_it_is_published() -> None:
    assert "127.0.0.1:6379:6379" in services()["redis"]["ports"]
    assert services()["livekit"]["network_mode"] == "host"
    for name in ("livekit", "egress", "ingress"):
        config = load_yaml(DEPLOY / "livekit" / f"{name}.yaml")
        assert config["redis"]["address"] == "127.0.0.1:6379", name


def test_egress_and_ingress_are_checked_on_their_configured_health_ports() -> None:
    for name in ("egress", "ingress"):
        service = services()[name]
        config = load_yaml(DEPLOY / "livekit" / f"{name}.yaml")
        assert f"http://127.0.0.1:{config['health_port']}/" in service["healthcheck"]["test"]
        assert service["environment"]["LIVEKIT_WS_URL"] == "ws://127.0.0.1:7880"
        config_file = service["environment"][f"{name.upper()}_CONFIG_FILE"]
        assert any(volume.endswith(f":{config_file}:ro") for volume in service["volumes"])


def test_coturn_relays_outside_livekits_ports_and_is_checked_where_it_listens() -> None:
    conf = dict(
        line.split("=", 1)
        for line in (DEPLOY / "coturn" / "turnserver.conf").read_text("utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    )
    relay = range(int(conf["min-port"]), int(conf["max-port"]) + 1)
    livekit = load_yaml(DEPLOY / "livekit" / "livekit.yaml")["rtc"]
    media = range(livekit["port_range_start"], livekit["port_range_end"] + 1)
    assert not set(relay) & set(media)
    assert conf["listening-port"] == "3478" and conf["tls-listening-port"] == "5349"
    coturn = services()["coturn"]
    assert coturn["command"][:2] == ["-c", "/etc/coturn/turnserver.conf"]
    assert "/dev/tcp/127.0.0.1/3478" in " ".join(coturn["healthcheck"]["test"])
    assert "user-quota" not in conf  # every LiveKit client relays under the one user


def test_the_proxy_template_reads_only_variables_its_container_has() -> None:
    proxy = services()["proxy"]
    (template,) = [v.split(":")[0] for v in proxy["volumes"] if v.startswith("./")]
    text = (DEPLOY / template).read_text("utf-8")
    assert set(re.findall(r"\$\{([A-Z_]+)\}", text)) == set(proxy["environment"])
    assert "server app:8000 resolve;" in text
    assert "location = /proxy-health" in text
    assert "http://127.0.0.1/proxy-health" in proxy["healthcheck"]["test"]
