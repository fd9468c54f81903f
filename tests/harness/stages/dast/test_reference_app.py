"""The dast stage against the real reference app (local target), and with a weakness planted in front.

The planted build is the real app behind a tiny proxy that serves ``GET /api/uploads/{id}`` to the
second user as if they were the first (a broken object-level authorization check, without editing
the app): the stage must fail naming ``ST-object_level_authorization`` on that operation.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness.config import HarnessConfig
from harness.results import Result, ResultKind, Status
from harness.stages.base import StageContext
from harness.stages.dast import DastStage
from harness.targets import TargetSettings, get_target
from harness.targets.base import Environment
from harness.targets.lifecycle import running
from tests.harness.stages.dast.toy_app import serve

ROOT = Path(__file__).resolve().parents[4]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "content-encoding", "connection"}
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("easy_upload") is None, reason="reference app not installed"),
]


@pytest.fixture(scope="module")
def reference_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    settings = TargetSettings.for_root(ROOT, run_dir=tmp_path_factory.mktemp("run"), ready_timeout_s=60)
    # The TCP front door passes the app's headers through untouched: these tests judge the app. (The
    # default per-request router adds aiohttp's versioned Server header; `harness verify` reports it.)
    with running(get_target("local?router=tcp", settings)) as env:
        yield env


def planted_idor(upstream: str, owner_token: str, peer_token: str) -> Starlette:
    """The real app, except that the peer reads single uploads with the owner's identity."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # One client for the server's life (connections reused, closed on shutdown).
        async with httpx.AsyncClient(base_url=upstream, timeout=30.0) as client:
            app.state.client = client
            yield

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        if (
            request.method == "GET"
            and re.fullmatch(r"/api/uploads/[^/]+", request.url.path)
            and headers.get("authorization") == f"Bearer {peer_token}"
        ):
            headers["authorization"] = f"Bearer {owner_token}"
        client: httpx.AsyncClient = request.app.state.client
        try:
            upstream_response = await client.request(
                request.method,
                request.url.path,
                params=request.url.query,
                headers=headers,
                content=await request.body(),
            )
        except httpx.InvalidURL:  # fuzzed paths httpx will not send; the app would refuse them too
            return Response(status_code=404)
        kept = {k: v for k, v in upstream_response.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(upstream_response.content, status_code=upstream_response.status_code, headers=kept)

    return Starlette(routes=[Route("/{path:path}", forward, methods=METHODS)], lifespan=lifespan)


def _run(env: Environment, run_dir: Path, **dast: object) -> dict[str, Result]:
    config = HarnessConfig(
        root=ROOT, paths=HarnessConfig.defaults(ROOT).paths, dast={"zap_path": "/nonexistent/zap.sh", **dast}
    )
    return {r.id: r for r in DastStage().run(StageContext(config, env, run_dir, "pr"))}


def test_reference_app_really_runs_schemathesis_and_header_checks(
    reference_env: Environment, tmp_path: Path
) -> None:
    results = _run(reference_env, tmp_path, max_examples=5)
    tool = results["DAST-schemathesis"]  # what the tool did: a summary, never evidence
    assert tool.kind is ResultKind.SUMMARY and tool.status is Status.PASSED
    assert int(tool.measured["requests"]) > 0
    st = json.loads((tmp_path / "evidence/dast/run.json").read_text())["tools"]["schemathesis"]
    assert int(st["requests"]) > 50 and int(st["harness_probe_requests"]) > 20
    failed = {r.id: r.message[:300] for r in results.values() if r.status in (Status.FAILED, Status.ERROR)}
    assert failed == {}
    assert results["ST-object_level_authorization"].status is Status.PASSED
    assert results["DAST-API1-bola-read"].status is Status.PASSED
    assert int(results["DAST-INJ-sql-injection"].measured["targets_tried"]) > 0
    # Every operation that can answer 401 declares bearer security in the document, so Schemathesis'
    # ignored_auth sends it no token and a wrong one (it was skipped: nothing declared security).
    assert results["ST-ignored_auth"].status is Status.PASSED, results["ST-ignored_auth"].message
    # The events URL takes a short-lived stream token in its query: reported, not gating (rules file).
    assert results["DAST-API2-credentials-in-url"].status is Status.WARNED
    for plugin in ("10038", "10021", "10020", "10015", "10036", "10037"):
        assert results[f"DAST-HDR-{plugin}"].status is Status.PASSED, results[f"DAST-HDR-{plugin}"].message
    assert results["DAST-zap"].status is Status.SKIPPED


def test_planted_idor_in_front_of_the_reference_app_fails_naming_it(
    reference_env: Environment, tmp_path: Path
) -> None:
    owner, peer = reference_env.users[0], reference_env.users[1]
    with serve(planted_idor(reference_env.api_url, owner.token, peer.token), lifespan="on") as url:
        planted = Environment(
            target="local", api_url=url, web_url=url, aws=reference_env.aws, users=reference_env.users
        )
        # Only the uploads operations: that is where the IDOR is planted (and it keeps the test short).
        results = _run(
            planted, tmp_path, max_examples=5, schemathesis_args=["--include-path-regex", "^/api/uploads"]
        )
    idor = results["ST-object_level_authorization"]
    assert idor.status is Status.FAILED
    assert idor.location == f"{url}/api/uploads/{{upload_id}}"
    assert f"`{peer.name}` received" in idor.message
    ours = results["DAST-API1-bola-read"]
    assert ours.status is Status.FAILED and ours.location == f"{url}/api/uploads/{{upload_id}}"
    assert f"users: {owner.name}, {peer.name}" in ours.message
