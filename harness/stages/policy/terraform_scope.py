"""Terraform variables and locals of the checked folders, resolved the way Terraform resolves them,
for rules that need the value of an expression (e.g. the tags a resource ends up with).

A variable's value, in Terraform's order ("Variable Definition Precedence" and module calls):
``*.auto.tfvars`` then ``terraform.tfvars`` of a root module; for a module called from other
folders, the argument each ``module`` block passes (evaluated in the caller's own scope), else the
variable's default. Values given on the command line, in ``-var-file`` or ``TF_VAR_`` are not
known here: such a variable is *unknown*, and rules report what depends on it as skipped.
"""

from __future__ import annotations

import posixpath
from functools import partial

from harness.iac.expressions import KeySet, Scope, map_keys
from harness.stages.policy.model import Inputs, TfResource, get


def module_scope(inputs: Inputs, directory: str, stack: tuple[str, ...] = ()) -> Scope:
    """The scope of one Terraform folder (shown path, e.g. ``terraform/modules/rds``)."""
    return Scope(inputs.locals.get(directory, {}), partial(_variable_keys, inputs, directory, stack))


def callers(inputs: Inputs, directory: str) -> list[tuple[str, TfResource]]:
    """``(caller folder, module block)`` of every module block whose ``source`` is ``directory``."""
    found = []
    for caller, blocks in inputs.modules.items():
        for block in blocks:
            source = str(get(block.body, "source", default=""))
            local = source.startswith((".", "/"))  # registry and git sources are not in this repo
            if local and posixpath.normpath(posixpath.join(caller, source)) == directory:
                found.append((caller, block))
    return found


def _variable_keys(inputs: Inputs, directory: str, stack: tuple[str, ...], name: str) -> KeySet:
    declared = inputs.variables.get(directory, {}).get(name)
    if declared is None:
        return KeySet.opaque(f"var.{name} is not declared in {directory}")
    if name in inputs.tfvars.get(directory, {}):
        return map_keys(inputs.tfvars[directory][name], module_scope(inputs, directory, stack))
    calls = callers(inputs, directory)
    if calls and directory not in stack:
        return _from_callers(inputs, directory, name, calls, stack)
    if "default" in declared and get(declared, "default") is not None:
        return map_keys(get(declared, "default"), module_scope(inputs, directory, stack))
    return KeySet.opaque(f"var.{name} has no default and no value in terraform.tfvars or *.auto.tfvars "
                         f"of {directory} (set with -var/-var-file at apply time?)")


def _from_callers(inputs: Inputs, directory: str, name: str, calls: list[tuple[str, TfResource]],
                  stack: tuple[str, ...]) -> KeySet:
    """Keys every caller is known to pass (a key counts only if all callers pass it)."""
    declared = inputs.variables.get(directory, {}).get(name, {})
    sets = []
    for caller, block in calls:
        if name in block.body:
            sets.append(map_keys(block.body[name], module_scope(inputs, caller, (*stack, directory))))
        elif get(declared, "default") is not None:
            own = module_scope(inputs, directory, (*stack, directory))
            sets.append(map_keys(get(declared, "default"), own))
        else:
            sets.append(KeySet.opaque(f"{block.location} does not pass {name} and it has no default"))
    keys = frozenset.intersection(*(s.keys for s in sets))
    reasons = "; ".join(s.unknown for s in sets if s.unknown)
    return KeySet(keys, all(s.complete for s in sets), reasons)


__all__ = ["callers", "module_scope"]
