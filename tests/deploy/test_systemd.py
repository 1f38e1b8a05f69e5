"""deploy/systemd: the single-machine units run commands the ``sanke`` CLI has."""

from __future__ import annotations

import configparser
import re
import shlex

import typer.main

from tests.deploy.files import DEPLOY
from web.cli import app

SYSTEMD = DEPLOY / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string((SYSTEMD / name).read_text("utf-8"))
    return parser


def test_the_old_unit_path_still_holds_the_same_unit() -> None:
    old = (DEPLOY / "sanke.service").read_text("utf-8")
    assert old == (SYSTEMD / "sanke.service").read_text("utf-8")


def test_each_unit_runs_a_sanke_command_that_exists_with_the_same_settings() -> None:
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    expected = {"sanke.service": "serve", "sanke-recorder.service": "record"}
    assert {p.name for p in SYSTEMD.glob("*.service")} == set(expected)
    serve = unit("sanke.service")["Service"]
    for name, command in expected.items():
        service = unit(name)["Service"]
        program, *args = shlex.split(service["ExecStart"])
        assert program == "/opt/sanke/bin/sanke" and args == [command]
        assert command in commands
        for key in ("User", "EnvironmentFile", "ReadWritePaths", "ProtectSystem"):
            assert service[key] == serve[key], f"{name}: {key}"
        assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


def test_the_recorder_starts_after_the_app_it_subscribes_through() -> None:
    recorder = unit("sanke-recorder.service")["Unit"]
    assert "sanke.service" in recorder["After"].split()
    assert "sanke.service" in recorder["Wants"].split()


def test_the_readme_names_files_that_exist() -> None:
    readme = (DEPLOY / "README.md").read_text("utf-8")
    table = readme.split("\n## ", 1)[0]
    paths = re.findall(r"`([\w./-]+\.(?:service|example|conf|yaml|md)|[\w-]+/|Dockerfile)`", table)
    assert len(paths) >= 10
    for path in paths:
        assert (DEPLOY / path).exists(), path
    for figure in ("≈160 subscribers per core", "≈135 streams per core"):
        assert figure in readme
