"""GitHub Actions workflows, checked offline: schema-valid (``schemas/github-workflow.json``) and
every ``uses:`` pinned to a full commit SHA (local ``./`` actions and ``docker://`` images by digest
excepted)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.errors import ConfigError

SCHEMA_PATH = Path(__file__).with_name("schemas") / "github-workflow.json"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
DOCKER_BY_DIGEST = re.compile(r"^docker://\S+@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class WorkflowIssue:
    """One problem of one workflow file."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.message}"


class _WorkflowLoader(yaml.SafeLoader):
    """YAML 1.2 booleans only: GitHub reads ``on:`` as a key, PyYAML's YAML 1.1 as ``True``."""


_WorkflowLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_WorkflowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_workflow(path: str | Path) -> dict[str, Any]:
    """Parse one workflow file the way GitHub does (``on`` stays a string key)."""
    source = Path(path)
    try:
        data = yaml.load(source.read_text(encoding="utf-8"), Loader=_WorkflowLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a workflow must be a mapping")
    return data


@cache
def workflow_schema() -> dict[str, Any]:
    """The shipped GitHub Actions workflow schema."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def iter_uses(workflow: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(json path, value) of every ``uses:`` in a workflow (steps and reusable-workflow jobs)."""
    for job_id, job in (workflow.get("jobs") or {}).items():
        if isinstance(job, dict) and "uses" in job:
            yield f"/jobs/{job_id}/uses", str(job["uses"])
        for index, step in enumerate((job or {}).get("steps") or []):
            if isinstance(step, dict) and "uses" in step:
                yield f"/jobs/{job_id}/steps/{index}/uses", str(step["uses"])


def is_pinned(uses: str) -> bool:
    """Whether a ``uses:`` reference is immutable (full SHA, local action, image digest)."""
    return uses.startswith("./") or bool(PINNED.match(uses) or DOCKER_BY_DIGEST.match(uses))


def check_workflow(path: str | Path) -> list[WorkflowIssue]:
    """Schema violations and unpinned actions of one workflow file."""
    name = Path(path).name
    workflow = load_workflow(path)
    issues = [WorkflowIssue(name, "/" + "/".join(map(str, where)), message)
              for where, message in schema_errors(workflow)]
    issues += [
        WorkflowIssue(name, where, f"{uses!r} is not pinned to a 40-hex commit SHA")
        for where, uses in iter_uses(workflow)
        if not is_pinned(uses)
    ]
    return issues


def schema_errors(workflow: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, message) of each violation of GitHub's workflow schema, the closest alternative's for a
    ``oneOf``/``anyOf``."""
    validator = jsonschema.Draft7Validator(workflow_schema())
    return [(_where(leaf), leaf.message)
            for error in validator.iter_errors(workflow) for leaf in _leaf_errors(error)]


def _where(error: jsonschema.ValidationError) -> tuple[str | int, ...]:
    """The path of an error; for a key the schema does not allow, the key itself (jsonschema reports
    the mapping that holds it), so that a misspelt key is located at its own line."""
    path = tuple(error.absolute_path)
    schema = error.schema
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict) \
            or not isinstance(schema, dict):
        return path
    known, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extra = [k for k in error.instance if k not in known and not any(re.search(p, k) for p in patterns)]
    return (*path, extra[0]) if extra else path


def _leaf_errors(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For oneOf/anyOf, the errors of the closest alternative (fewest errors) instead of
    "is not valid under any of the given schemas"."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    closest = min(branches.values(), key=len)
    return [leaf for sub in closest for leaf in _leaf_errors(sub)]


__all__ = ["WorkflowIssue", "check_workflow", "is_pinned", "iter_uses", "load_workflow", "schema_errors",
           "workflow_schema"]
