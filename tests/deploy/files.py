"""Reading deploy/ without a container engine: the env file, Compose's interpolation, YAML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML, installed with uvicorn[standard]

from web.settings import SankeSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# Compose's forms: $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error},
# ${NAME?error}, $NAME. Defaults here contain no braces (Compose versions nest them differently).
_VARIABLE = re.compile(
    rf"\$(?:(?P<escaped>\$)|\{{(?P<braced>{_NAME})(?:(?P<op>:?[-?])(?P<arg>[^{{}}]*))?\}}|(?P<bare>{_NAME}))"
)


class Unset(Exception):
    """A ``${NAME:?message}`` met an unset or empty variable."""


def settings_env_names() -> set[str]:
    """Every environment variable ``web.settings.SankeSettings`` reads."""
    prefix = SankeSettings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in SankeSettings.model_fields}


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (value bare or in matching quotes); comments on their own lines."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = re.fullmatch(rf"({_NAME})=(.*)", stripped)
        if match is None:
            raise ValueError(f"{path.name}:{number}: expected NAME=value, got {line!r}")
        name, raw = match.groups()
        if name in values:
            raise ValueError(f"{path.name}:{number}: {name} is set twice")
        quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\""
        if not quoted and (" #" in raw or raw[:1] in ("'", '"')):
            raise ValueError(f"{path.name}:{number}: comments go on their own line: {line!r}")
        values[name] = raw[1:-1] if quoted else raw
    return values


def interpolate(text: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"]
        value = env.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise Unset(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(replace, text)


def resolve(node: Any, env: Mapping[str, str]) -> Any:
    """``node`` (parsed YAML) with every string interpolated, as Compose does after parsing."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    return node


def variables(node: Any) -> dict[str, list[tuple[str | None, str | None]]]:
    """Each variable ``node``'s strings read, with the operators and arguments it is read with."""
    found: dict[str, list[tuple[str | None, str | None]]] = {}
    if isinstance(node, str):
        for match in _VARIABLE.finditer(node):
            name = match["braced"] or match["bare"]
            if name:
                found.setdefault(name, []).append((match["op"], match["arg"]))
    elif isinstance(node, list | dict):
        for item in node.values() if isinstance(node, dict) else node:
            for name, uses in variables(item).items():
                found.setdefault(name, []).extend(uses)
    return found


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list | dict):
        return [
            s for item in (node.values() if isinstance(node, dict) else node) for s in strings(item)
        ]
    return []


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


def load_yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc is not None]


def compose() -> dict[str, Any]:
    loaded = load_yaml(COMPOSE)
    assert isinstance(loaded, dict)
    return loaded
