"""The policy authoring API: label-selector semantics (table from the Kubernetes docs), rule
loading, and the package's public names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import harness.stages.policy as policy_package
from harness.errors import StageError
from harness.stages.policy.rules import load_rules, selector_matches

LABELS = {"app": "api", "tier": "web"}


@pytest.mark.parametrize(("selector", "matches"), [
    ({"app": "api"}, True),                                              # a Service's plain map
    ({"app": "web"}, False),
    ({"matchLabels": {"app": "api", "tier": "web"}}, True),
    ({"matchLabels": {"app": "api", "tier": "db"}}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, False),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
    ({"matchExpressions": [{"key": "track", "operator": "DoesNotExist"}]}, True),
    ({"matchLabels": {"app": "api"},
      "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}, False),
    ({}, False),                                                         # selects nothing here
    (None, False),
])
def test_selector_matches(selector: dict[str, Any] | None, matches: bool) -> None:
    assert selector_matches(selector, LABELS) is matches


def test_duplicate_policy_ids_are_refused(tmp_path: Path) -> None:
    body = ('from harness.stages.policy.rules import rule\n\n'
            '@rule("EU-K8S-999", "x")\ndef check(inputs):\n    return []\n')
    (tmp_path / "a.py").write_text(body)
    (tmp_path / "b.py").write_text(body)
    with pytest.raises(StageError, match="EU-K8S-999 is already defined"):
        load_rules([tmp_path])


def test_broken_policy_module_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(StageError, match=r"broken\.py: policy module failed to import: boom"):
        load_rules([tmp_path])


def test_public_api_is_complete() -> None:
    public = {name for name in dir(policy_package) if not name.startswith(("_", "@"))}  # @: pytest rewrite
    modules = {"baseline", "catalog", "checkov_run", "engine", "inputs", "model", "options", "rules",
               "schema", "stage", "waivers", "annotations", "manifests", "terraform_scope",
               "checkov_fields", "engine_checks", "promtool_checks", "terraform_checks"}
    assert public - modules == set(policy_package.__all__)
