"""Stage configs: dataclasses loaded from a TOML/YAML file, overridden by command-line flags.

A config file holds one section per stage (``[rollouts]``, ``[verify]``, ...) and may set ``store`` at
the top. A stage reads its own section; unknown keys are an error naming the file and key, so a typo
never silently runs with a default. The resolved config is written whole into the manifest of what the
stage built.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from factory.errors import UsageError

C = TypeVar("C")


def read_config_file(path: str | Path | None) -> dict[str, Any]:
    """The parsed file (TOML by default, YAML for .yaml/.yml); empty dict for no file."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"config file {path} cannot be parsed: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must hold a table of settings, got {type(data).__name__}")
    return data


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where) if len(inner) == 1 else value
    if origin in (list, tuple) and isinstance(value, (list, tuple)):
        return list(value) if origin is list else tuple(value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, float, str, bool) and not isinstance(value, annotation):
        raise UsageError(f"{where}: expected {annotation.__name__}, got {value!r}")
    return value


def build_config(cls: type[C], *, file: str | Path | None, section: str,
                 overrides: dict[str, Any] | None = None) -> C:
    """``cls`` from defaults, then ``[section]`` of ``file``, then non-None ``overrides`` (CLI flags)."""
    data = read_config_file(file)
    values = data.get(section, {})
    if not isinstance(values, dict):
        raise UsageError(f"config file {file}: [{section}] must be a table of settings")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UsageError(f"config file {file}: unknown key(s) {unknown} in [{section}]; "
                         f"known: {', '.join(sorted(names))}")
    merged = {k: _coerce(v, hints[k], f"config file {file} [{section}] {k}") for k, v in values.items()}
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return cls(**merged)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"invalid [{section}] settings: {exc}") from None


def config_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as the plain dict recorded in manifests."""
    return dataclasses.asdict(config)


def store_from(file: str | Path | None, flag: str | None) -> str | None:
    """The store named by the flag, else by the config file's top-level ``store`` key."""
    if flag:
        return flag
    value = read_config_file(file).get("store")
    return str(value) if value else None
