"""Infrastructure as code, read offline: Terraform (python-hcl2, no terraform binary) for the targets
and the policy stage, and GitHub Actions workflows (schema and SHA pinning)."""

from __future__ import annotations

from harness.iac.terraform import (
    attr,
    blocks,
    iter_tf_dirs,
    load_terraform,
    location,
    modules,
    parse_file,
    providers,
    resources,
    variable_default,
    variables,
)
from harness.iac.workflows import WorkflowIssue, check_workflow, is_pinned, iter_uses, load_workflow

__all__ = ["WorkflowIssue", "attr", "blocks", "check_workflow", "is_pinned", "iter_tf_dirs",
           "iter_uses", "load_terraform", "load_workflow", "location", "modules", "parse_file", "providers",
           "resources", "variable_default", "variables"]
