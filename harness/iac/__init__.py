"""Terraform reading shared by the targets and the policy stage (python-hcl2, no terraform binary)."""

from __future__ import annotations

from harness.iac.terraform import (
    attr,
    blocks,
    data_sources,
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

__all__ = [
    "attr",
    "blocks",
    "data_sources",
    "iter_tf_dirs",
    "load_terraform",
    "location",
    "modules",
    "parse_file",
    "providers",
    "resources",
    "variable_default",
    "variables",
]
