"""Fake stages and targets for unit tests of the engine, CLI and plugin (never used outside tests)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from harness.results import Result, ResultKind, Severity, Status
from harness.stages.base import StageContext
from harness.targets.base import AwsEndpoint, Environment, TestUser

SECRET_TOKEN = "tok-4f9a1c2e8b7d"


class PassingStage:
    NAME = "policy"
    NEEDS_ENVIRONMENT = False

    def run(self, ctx: StageContext) -> list[Result]:
        return [
            Result(
                "CKV_AWS_18",
                "policy",
                "S3 access logging",
                Status.PASSED,
                Severity.HIGH,
                controls=["EU-LOG-001"],
                location="terraform/s3.tf:12",
            )
        ]


class FailingStage:
    NAME = "policy"
    NEEDS_ENVIRONMENT = False

    def run(self, ctx: StageContext) -> list[Result]:
        return [
            Result("CKV_AWS_18", "policy", "S3 access logging", Status.PASSED, Severity.HIGH),
            Result(
                "CKV_AWS_21",
                "policy",
                "S3 versioning",
                Status.FAILED,
                Severity.HIGH,
                location="terraform/s3.tf:3",
                message="bucket uploads has no versioning",
            ),
        ]


class MarkingStage(PassingStage):
    """Leaves a marker file when it runs (``HARNESS_TEST_MARKER``): proof that a stage started."""

    def run(self, ctx: StageContext) -> list[Result]:
        Path(os.environ["HARNESS_TEST_MARKER"]).write_text("ran", encoding="utf-8")
        return super().run(ctx)


class SummaryOnlyStage:
    """Only a tool summary: what a tool did is not evidence."""

    NAME = "dast"
    NEEDS_ENVIRONMENT = False

    def run(self, ctx: StageContext) -> list[Result]:
        return [Result("DAST-schemathesis", "dast", "Schemathesis run", Status.PASSED,
                       kind=ResultKind.SUMMARY, message="0 requests sent", proven_on="Schemathesis 4.1.0")]


class UngovernedWaiverStage:
    """Calls a failure waived with a waiver that has no approver and no expiry."""

    NAME = "policy"
    NEEDS_ENVIRONMENT = False

    def run(self, ctx: StageContext) -> list[Result]:
        return [
            Result("CKV_AWS_18", "policy", "S3 access logging", Status.PASSED),
            Result("ZAP-10038", "policy", "CSP header", Status.WAIVED, message="reported, not gating",
                   waiver={"reason": "WARN: reported, not gating", "owner": "dast-rules.tsv"}),
        ]


class CrashingStage:
    NAME = "policy"
    NEEDS_ENVIRONMENT = False

    def run(self, ctx: StageContext) -> list[Result]:
        raise RuntimeError("checkov exploded")


class EnvStage:
    """Needs the environment; echoes the first user's token into evidence and a result."""

    NAME = "functional"
    NEEDS_ENVIRONMENT = True

    def run(self, ctx: StageContext) -> list[Result]:
        assert ctx.environment is not None
        token = ctx.environment.users[0].token
        evidence = ctx.evidence_dir / "functional" / "request.txt"
        evidence.parent.mkdir(parents=True, exist_ok=True)
        evidence.write_text(f"GET /api/uploads\nAuthorization: Token {token}\n", encoding="utf-8")
        return [
            Result(
                "SCN-upload-png",
                "functional",
                "upload a PNG",
                Status.PASSED,
                message=f"used token {token}",
                evidence=["evidence/functional/request.txt"],
            )
        ]


class CrashingEnvStage(EnvStage):
    def run(self, ctx: StageContext) -> list[Result]:
        raise ValueError("scenario runner broke")


class SleepingEnvStage(EnvStage):
    """Signals that it started (a marker file) and sleeps until interrupted."""

    def run(self, ctx: StageContext) -> list[Result]:
        Path(os.environ["HARNESS_TEST_MARKER"]).write_text("started", encoding="utf-8")
        time.sleep(60)
        return []


class HalfDoneEnvStage:
    """Yields two finished scenarios' results, leaves the marker, then blocks in the third (as a
    long functional scenario does) until interrupted."""

    NAME = "functional"
    NEEDS_ENVIRONMENT = True

    def run(self, ctx: StageContext) -> Iterator[Result]:
        for name in ("upload-png", "upload-pdf"):
            yield Result(f"SCN-{name}", "functional", name, Status.PASSED, Severity.HIGH, proven_on="fake")
        Path(os.environ["HARNESS_TEST_MARKER"]).write_text("2 yielded", encoding="utf-8")
        time.sleep(60)
        yield Result("SCN-never", "functional", "never", Status.PASSED, Severity.HIGH, proven_on="fake")


class FakeTarget:
    """Counts up/down calls, optionally in a file (for subprocess tests)."""

    NAME = "fake"
    ups = 0
    downs = 0

    def __init__(self, *, fail_up: bool = False, fail_down: bool = False, log: Path | None = None) -> None:
        self.fail_up, self.fail_down, self.log = fail_up, fail_down, log

    def _note(self, what: str) -> None:
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as handle:
                handle.write(f"{what} {os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER', '-')}\n")

    def preflight(self) -> None:
        return None

    def up(self) -> Environment:
        FakeTarget.ups += 1
        self._note("up")
        if self.fail_up:
            raise ConnectionError("postgres did not start")
        return Environment(
            target="fake",
            api_url="http://127.0.0.1:1/api",
            web_url="http://127.0.0.1:1/",
            aws=AwsEndpoint(
                "http://127.0.0.1:2",
                "us-east-1",
                "AKIAIOSFODNN7EXAMPLE",
                "s3cr3t-aws-key",
                {"uploads": "uploads-bucket"},
            ),
            users=[TestUser("alice", SECRET_TOKEN), TestUser("bob", "tok-bob-99887766")],
        )

    def down(self) -> None:
        FakeTarget.downs += 1
        self._note("down")
        if self.fail_down:
            raise OSError("could not stop redis")
