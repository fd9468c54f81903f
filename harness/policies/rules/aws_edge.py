"""The only public entry on AWS is the designed edge: a load balancer Terraform makes public must be
an origin of a CloudFront distribution that has a WAF, or (an ALB) carry a regional WAF itself.
Anything else is a door around the WAF."""

from __future__ import annotations

from collections.abc import Iterator

from harness.stages.policy.model import as_list, get
from harness.stages.policy.rules import Inputs, TfResource, Verdict, rule

LOAD_BALANCERS = ("aws_lb", "aws_alb")


def _mentions(value: object, block: TfResource) -> bool:
    return f"{block.type}.{block.name}." in repr(value)


def _fronted_by_cloudfront(inputs: Inputs, lb: TfResource) -> bool:
    for distribution in inputs.terraform.get(lb.module_dir, []):
        if distribution.type != "aws_cloudfront_distribution" or get(distribution.body, "web_acl_id") is None:
            continue
        if any(
            _mentions(get(origin, "domain_name"), lb) for origin in as_list(distribution.body.get("origin"))
        ):
            return True
    return False


def _has_regional_waf(inputs: Inputs, lb: TfResource) -> bool:
    return any(
        b.type == "aws_wafv2_web_acl_association" and _mentions(get(b.body, "resource_arn"), lb)
        for b in inputs.terraform.get(lb.module_dir, [])
    )


@rule("EU-AWS-022", "Public load balancers sit behind CloudFront and the WAF")
def public_lb_behind_waf(inputs: Inputs) -> Iterator[Verdict]:
    for lb in inputs.resources(*LOAD_BALANCERS):
        internal = str(get(lb.body, "internal", default="false")).lower()
        if internal == "true":
            yield Verdict(lb)
            continue
        if internal != "false":
            yield Verdict(lb, skip=f"cannot evaluate internal = {internal!r} offline")
            continue
        kind = str(get(lb.body, "load_balancer_type", default="application"))
        fronted = _fronted_by_cloudfront(inputs, lb) or (
            kind == "application" and _has_regional_waf(inputs, lb)
        )
        problem = (f"public {kind} load balancer is neither the origin of a CloudFront distribution with a "
                   "WAF nor protected by a regional WAF: a door around the edge")
        yield Verdict(lb, None if fronted else problem)
