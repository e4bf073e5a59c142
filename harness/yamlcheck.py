"""Load a YAML file into a strict pydantic model, with errors that name file:line:col and key path.

A leaf module: it imports nothing of the project, so both the harness and the virtual device
use it. PyYAML alone would silently turn `serial: 0123456` into 42798, `no` into False and
accept duplicate keys; strict models plus the node marks of `yaml.compose()` catch all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """Bad configuration: the message is complete and ready for the user, one problem a line."""


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first defined on line {first})", key_node.start_mark)
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _node_at(node: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """Walk the composed YAML tree along a pydantic error location; stop at the deepest match."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
    return node


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """(data, composed tree) of a YAML file; ConfigError with file:line:col on syntax problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML: {e.problem or e}") from None
    return data, tree


def describe_errors(path: Path, tree: yaml.Node | None, error: ValidationError,
                    prefix: tuple[Any, ...] = ()) -> str:
    lines = []
    for err in error.errors():
        loc = prefix + tuple(err["loc"])
        node = _node_at(tree, loc)
        where = f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}" if node else str(path)
        key = ".".join(str(p) for p in loc) or "(top level)"
        source = node.value if isinstance(node, yaml.ScalarNode) else err.get("input")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{where}: {key}: {msg} (got {source!r})")
    return "\n".join(lines)


def load_model(path: Path, model: type[M], *, section: str | None = None) -> M:
    """Validate a YAML file (or one top-level section of it) against a pydantic model."""
    data, tree = load_yaml(path)
    prefix: tuple[Any, ...] = ()
    if section is not None:
        if not isinstance(data, dict) or section not in data:
            raise ConfigError(f"{path}: missing top-level key {section!r}")
        data, prefix = data[section], (section,)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(describe_errors(path, tree, e, prefix)) from None
