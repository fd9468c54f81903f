"""GitHub Actions supply chain: a workflow runs each action it ``uses:`` with the job's token and
secrets (deploy rights included). A tag or branch (``@v4``, ``@main``) can be moved by whoever controls
the action's repository, so only a full commit SHA pins the code that was reviewed (GitHub's "Security
hardening for GitHub Actions", *Using third-party actions*). checkov has no such check (its
``CKV_GHA_*`` cover shell injection, curl/netcat, unsecure commands, cosign, empty dispatch inputs)."""

from __future__ import annotations

from collections.abc import Iterator

from harness.iac.workflows import is_pinned, schema_errors
from harness.stages.policy.rules import Inputs, Verdict, rule


@rule("EU-GHA-001", "Workflow actions are pinned to a full commit SHA")
def actions_pinned(inputs: Inputs) -> Iterator[Verdict]:
    """Each ``uses:`` of each workflow, at its ``file:line``. Fails on any reference but a 40-hex
    commit SHA, a local ``./`` action or a ``docker://`` image by ``@sha256:`` digest: the observation
    is the reference text as written in the workflow file, independent of what the action does."""
    for workflow in inputs.workflows:
        for use in workflow.uses:
            problem = (f"{use.uses!r} is not pinned to a full 40-hex commit SHA: whoever can move that "
                       "ref runs code with this job's token")
            yield Verdict(use, None if is_pinned(use.uses) else problem)


@rule("EU-GHA-002", "Workflows are valid against GitHub's workflow schema")
def workflow_schema_valid(inputs: Inputs) -> Iterator[Verdict]:
    """One verdict a workflow file, at its first violation of the shipped schema
    (``harness/iac/schemas/github-workflow.json``, trimmed from SchemaStore's github-workflow.json and
    GitHub's "Workflow syntax for GitHub Actions"; unknown keys fail). GitHub refuses an invalid
    workflow file ("Invalid workflow file"), so the jobs it declares (scans, gates, deploys) never
    run. The observation is the file as written, validated by jsonschema, not by our own code."""
    for workflow in inputs.workflows:
        errors = schema_errors(workflow.data)
        problem = "; ".join(f"/{'/'.join(map(str, where))}: {message}" for where, message in errors)
        yield Verdict(workflow, problem or None, path=errors[0][0] if errors else ())
