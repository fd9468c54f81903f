"""AWS rules that need more than one block: expiring raw uploads, cost tags counting provider
``default_tags``, and a CloudFront edge with a us-east-1 certificate and a real WAF."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from harness.iac.expressions import KeySet, map_keys
from harness.stages.policy.model import as_dict, as_list, get
from harness.stages.policy.rules import Inputs, TfResource, Verdict, rule
from harness.stages.policy.terraform_scope import callers, module_scope


def _alias(block: TfResource) -> str | None:
    """The provider alias a block uses (``provider = aws.us_east_1`` -> ``us_east_1``)."""
    text = str(get(block.body, "provider", default="")).strip("${} ")
    return text.split(".", 1)[1] if "." in text else None


def _refers(value: Any, resource: TfResource) -> bool:
    return f"{resource.type}.{resource.name}." in repr(value) or repr(value).endswith(resource.address + "'")


def _expires(lifecycle: TfResource) -> bool:
    for item in as_list(lifecycle.body.get("rule")):
        rule_ = as_dict(item)
        enabled = str(get(rule_, "status", default="Enabled")) == "Enabled"
        if enabled and get(rule_, "expiration", "days") is not None:
            return True
    return False


def _is_raw(bucket: TfResource, patterns: tuple[str, ...]) -> bool:
    names = [bucket.name, str(get(bucket.body, "bucket", default="")), str(get(bucket.body, "bucket_prefix",
                                                                               default=""))]
    return any(fnmatch.fnmatch(n.lower(), p) for n in names if n for p in patterns)


@rule("EU-AWS-001", "Raw upload buckets expire their objects")
def raw_bucket_expires(inputs: Inputs) -> Iterator[Verdict]:
    patterns = tuple(inputs.options.get("raw_bucket_patterns", ("*raw*",)))
    for directory, blocks in inputs.terraform.items():
        lifecycles = [b for b in blocks if b.type == "aws_s3_bucket_lifecycle_configuration"]
        for bucket in (b for b in blocks if b.type == "aws_s3_bucket" and _is_raw(b, patterns)):
            mine = [lc for lc in lifecycles if _refers(lc.body.get("bucket"), bucket)]
            inline = any(get(as_dict(r), "expiration") for r in as_list(bucket.body.get("lifecycle_rule")))
            ok = inline or any(_expires(lc) for lc in mine)
            yield Verdict(bucket, None if ok else f"no enabled lifecycle rule expires objects in {directory}")


# --- cost tags ------------------------------------------------------------------------------------


def _taggable() -> frozenset[str]:
    from checkov.common.checks_infra.resources_types import resources_types

    return frozenset(resources_types.get("aws_taggable", []))


def _providers_of(inputs: Inputs, directory: str, alias: str | None) -> list[TfResource]:
    return [p for p in inputs.providers.get(directory, []) if p.type == "aws"
            and (str(get(p.body, "alias", default="")).strip("${} ") or None) == alias]


def _default_tags(inputs: Inputs, directory: str, alias: str | None, stack: tuple[str, ...] = ()) -> KeySet:
    """The aws provider's default_tags for a block: the folder's own provider, else (a module) what
    every caller's provider gives it (through the caller's ``providers = {}`` mapping)."""
    if any(p.type == "aws" for p in inputs.providers.get(directory, [])):
        result = KeySet(frozenset())
        for provider in _providers_of(inputs, directory, alias):
            result = result.union(map_keys(get(provider.body, "default_tags", "tags"),
                                           module_scope(inputs, directory)))
        return result
    calls = [c for c in callers(inputs, directory) if c[0] not in stack]
    if not calls:
        return KeySet.opaque(f"{directory} has no aws provider and no caller in this repo: its "
                             "default_tags are unknown")
    found = [_default_tags(inputs, caller, _caller_alias(block, alias), (*stack, directory))
             for caller, block in calls]
    keys = frozenset.intersection(*(f.keys for f in found))
    return KeySet(keys, all(f.complete for f in found), "; ".join(f.unknown for f in found if f.unknown))


def _caller_alias(module: TfResource, alias: str | None) -> str | None:
    """The caller's provider alias a module's ``aws``/``aws.<alias>`` maps to (``providers = {}``)."""
    mapping = as_dict(get(module.body, "providers"))
    given = mapping.get(f"aws.{alias}" if alias else "aws")
    text = str(given).strip("${} ") if given is not None else ""
    return text.split(".", 1)[1] if "." in text else None


@rule("EU-AWS-010", "Cost allocation tags on every taggable resource (provider default_tags count)")
def cost_tags(inputs: Inputs) -> Iterator[Verdict]:
    """Tags computed with ``merge``, locals, variables (tfvars, module arguments, defaults) are
    evaluated as Terraform would; what cannot be evaluated offline is reported skipped, never passed."""
    required = set(inputs.options.get("required_tags", ()))
    taggable = _taggable()
    for directory, blocks in inputs.terraform.items():
        for block in (b for b in blocks if b.type in taggable):
            present = map_keys(block.body.get("tags"), module_scope(inputs, directory)).union(
                _default_tags(inputs, directory, _alias(block)))
            missing = sorted(required - present.keys)
            if missing and not present.complete:
                yield Verdict(block, skip=f"cannot evaluate the tags: {present.unknown}; unless that "
                              f"provides them, {missing} are missing")
                continue
            yield Verdict(block, f"missing cost tags {missing}" if missing else None)


# --- CloudFront -----------------------------------------------------------------------------------

_REF = re.compile(r"(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)")


def _referenced(inputs: Inputs, directory: str, value: Any, resource_type: str) -> TfResource | None:
    for kind, name in _REF.findall(repr(value)):
        if kind == resource_type:
            found = [b for b in inputs.terraform.get(directory, []) if b.address == f"{kind}.{name}"]
            if found:
                return found[0]
    return None


def _provider_region(inputs: Inputs, block: TfResource) -> str:
    alias = _alias(block)
    for provider in inputs.providers.get(block.module_dir, []):
        if provider.type == "aws" and (str(get(provider.body, "alias", default="")) or None) == alias:
            return str(get(provider.body, "region", default=""))
    return ""


def _certificate_problem(inputs: Inputs, distribution: TfResource) -> str | None:
    arn = get(distribution.body, "viewer_certificate", "acm_certificate_arn")
    if arn is None:
        return "no ACM certificate (viewer_certificate.acm_certificate_arn)"
    if "arn:aws:acm:us-east-1:" in str(arn):
        return None
    cert = _referenced(inputs, distribution.module_dir, arn, "aws_acm_certificate")
    if cert is None:
        return None if "var." in str(arn) else f"cannot tell the region of certificate {arn}"
    region = _provider_region(inputs, cert)
    if region == "us-east-1":
        return None
    return f"certificate {cert.address} is issued in {region or 'the default region'}, not us-east-1"


@rule("EU-AWS-020", "CloudFront uses an ACM certificate from us-east-1")
def cloudfront_certificate(inputs: Inputs) -> Iterator[Verdict]:
    for distribution in inputs.resources("aws_cloudfront_distribution"):
        yield Verdict(distribution, _certificate_problem(inputs, distribution))


def _statement_kinds(acl: TfResource) -> set[str]:
    text = repr(acl.body.get("rule"))
    return {k for k in ("managed_rule_group_statement", "rate_based_statement") if k in text}


@rule("EU-AWS-021", "CloudFront has a WAF with managed rules and a rate rule")
def cloudfront_waf(inputs: Inputs) -> Iterator[Verdict]:
    for distribution in inputs.resources("aws_cloudfront_distribution"):
        ref = get(distribution.body, "web_acl_id")
        acl = _referenced(inputs, distribution.module_dir, ref, "aws_wafv2_web_acl")
        if acl is None:
            yield Verdict(distribution, "no aws_wafv2_web_acl attached (web_acl_id)" if ref is None or
                          "var." not in str(ref) else None)
            continue
        missing = {"managed_rule_group_statement", "rate_based_statement"} - _statement_kinds(acl)
        scope = str(get(acl.body, "scope", default=""))
        problem = f"web ACL {acl.address} lacks {sorted(missing)}" if missing else None
        if scope != "CLOUDFRONT":
            problem = f"web ACL {acl.address} has scope {scope}, not CLOUDFRONT"
        yield Verdict(acl if problem else distribution, problem)
