"""The local target's lifecycle: ``up()`` under signal handling, and ``down()`` whatever happened.

:class:`LocalLifecycle` holds what a teardown must reach (the starts' threads, services, emulator,
Terraform env, replicas, the model's controllers, temp dir, timings); :class:`~.target.LocalTarget`
adds the wiring in ``_up()``. ``down()`` runs on failure of ``up()``, at interpreter exit and
through SIGINT/SIGTERM/SIGHUP (turned into :class:`~harness.errors.RunInterrupted` when nobody else
handles them), shielded from further signals; the leak check is the Resource Groups Tagging API's.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import TargetError
from harness.targets.awsapi import AwsAccess
from harness.targets.base import Environment
from harness.targets.lifecycle import DeferredSignals, shielded, signals_as_exceptions, stop_signals_received
from harness.targets.local.app import AppLauncher
from harness.targets.local.aws import destroy_and_check
from harness.targets.local.cluster.plane import LocalControlPlane
from harness.targets.local.control import LocalControl
from harness.targets.local.frontdoor import Door
from harness.targets.local.prometheus import LocalPrometheus
from harness.targets.local.reaper import kill_by_argument, kill_strays
from harness.targets.local.workloads import Workloads
from harness.targets.settings import TargetSettings
from harness.targets.terraform_env import TerraformEnv

T = TypeVar("T")


class LocalLifecycle:
    """``up()`` and ``down()`` of the local target around the wiring its subclass puts in ``_up()``."""

    def __init__(self, settings: TargetSettings, run_id: str) -> None:
        self.settings = settings
        self.run_id = run_id
        self.run_dir = settings.run_dir or settings.root / ".harness" / "runs" / run_id
        self.logs_dir = self.run_dir / "logs"
        self.timings: dict[str, float] = {}
        self.environment: Environment | None = None
        self.control: LocalControl | None = None
        self.temp_dirs: list[Path] = []  # every temp dir this run made (all gone after down())
        self.leaks: list[str] = []  # what the leak check found after destroy (must stay empty)
        self._tmp: Path | None = None
        self._services: dict[str, Any] = {}
        self._access: AwsAccess | None = None
        self._infra: TerraformEnv | None = None
        self._destroying: TerraformEnv | None = None
        self._launcher: AppLauncher | None = None
        self._workloads: Workloads | None = None
        self._plane: LocalControlPlane | None = None
        self._frontdoor: Door | None = None
        self._prometheus: LocalPrometheus | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_prefix = f"local-target-{run_id}"
        self._signals: contextlib.ExitStack | None = None
        self._deferred = DeferredSignals()
        self._cancelled = threading.Event()  # set by down(): starts still in flight give up
        self._up_complete = False  # up() returned: down() lets a background apply finish
        self._up_started = time.monotonic()
        self._signals_at_up = stop_signals_received()
        self._teardown_problems: list[str] = []

    def _up(self) -> Environment:
        raise NotImplementedError

    def up(self) -> Environment:
        """Stand everything up and wait until it is ready; on any failure, tear down and re-raise."""
        self._deferred, self._cancelled, self._up_complete = DeferredSignals(), threading.Event(), False
        self._signals = contextlib.ExitStack()
        self._signals.enter_context(signals_as_exceptions())
        atexit.register(self.down)
        self._signals_at_up = stop_signals_received()
        started = self._up_started = time.monotonic()
        try:
            with self._deferred:  # signals act at safe points only (see DeferredSignals)
                env = self._up()
        except BaseException as exc:
            try:
                self.down()
            except TargetError as problem:  # the teardown's own finding must not hide why up failed
                exc.add_note(str(problem))
            raise
        self.timings["total"] = time.monotonic() - started
        self._up_complete = True
        return env

    def down(self) -> None:
        """Destroy what Terraform applied, check for leaks, stop every process, close every port,
        delete the temp dir. Idempotent. A destroy that failed or a resource still tagged with
        the run id is raised as a :class:`TargetError` once everything else is down.

        A SIGINT/SIGTERM that arrives meanwhile is held and re-delivered once everything is down.
        Interrupted (a signal arrived since ``up()`` began, or arrives now), with an emulator of
        the run's own: Terraform is killed, not waited for, and there is no destroy: the emulator
        stops with everything Terraform created in it (nothing outlives its process and temp dir).
        A shared emulator is still destroyed and leak-checked.
        """
        try:
            shielded(self._down, on_signal=self._on_teardown_signal)
        finally:
            if self._signals is not None:  # after shielded() has put our handlers back
                self._signals.close()
                self._signals = None
        problems, self._teardown_problems = self._teardown_problems, []
        if problems:
            raise TargetError("local target teardown: " + "; ".join(problems))

    def _wait(self, futures: list[Future[Any]]) -> None:
        """Wait for ``futures`` (raising the first failure), acting on held signals meanwhile."""
        while not all(f.done() for f in futures):
            self._deferred.check()
            wait(futures, timeout=0.05, return_when=FIRST_EXCEPTION)
            for future in futures:
                if future.done() and future.exception() is not None:
                    future.result()
        for future in futures:
            future.result()

    def _timed(self, what: str, action: Callable[[], T]) -> T:
        started = time.monotonic()
        result = action()
        self.timings[what] = round(time.monotonic() - started, 3)
        return result

    # -- down ------------------------------------------------------------------------------

    def _interrupted(self) -> bool:
        """A stop signal arrived since ``up()`` began: this teardown ends an interrupted run."""
        return stop_signals_received() > self._signals_at_up

    def _abandon_aws(self) -> bool:
        """With an emulator of the run's own, stop Terraform now: nothing it made will outlive
        the emulator. Never blocks (runs in a signal handler too). Whether it did."""
        infra = self._infra or self._destroying
        if "s3" not in self._services or infra is None:
            return False
        infra.abandon()
        return True

    def _on_teardown_signal(self, signum: int) -> None:
        del signum  # a second Ctrl-C: stop waiting for the apply or the destroy
        self._abandon_aws()

    def _down(self) -> None:
        fast = self._interrupted() and self._abandon_aws()
        if self._pool is not None:
            self._cancel_starts(self._pool)
            self._pool = None
        if self._plane is not None:  # first: no controller may scale or promote during teardown
            plane = self._plane
            plane.stop()
            self._write_evidence(self.run_dir / "controlplane.json", {  # what the controllers decided
                "time_scale": plane.speedup, "timeline": plane.timeline, "analysis": plane.analysis,
                "errors": plane.errors})
        if self._workloads is not None:
            self._workloads.unwatch()
        if self._frontdoor is not None:
            self._frontdoor.disable()
        replicas = self._workloads.all_replicas() if self._workloads else []
        for replica in replicas:  # all at once; the stops below then just wait
            replica.process.signal(replica.process.stop_signal)
        self._signal_services(spare_emulator=not fast)  # a destroy needs the emulator
        for replica in replicas:  # interrupted: open streams do not get to finish
            with contextlib.suppress(Exception):
                replica.process.stop(timeout=2.0 if fast else 10.0)
        kill_strays(self.run_id)
        self._timed("terraform_destroy", self._cleanup_aws)
        # where up() and down() spent their time (benchmarks/bench_up.py reads it)
        self._write_evidence(self.logs_dir / "timings.json", self.timings)
        for service in self._services.values():
            with contextlib.suppress(Exception):
                service.cleanup()
        self._services.clear()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = self.control = self.environment = None
        self._workloads = self._plane = self._frontdoor = self._prometheus = None
        atexit.unregister(self.down)

    def _signal_services(self, *, spare_emulator: bool) -> None:
        """Ask every service to stop, all at once; the emulator stays when a destroy still needs it."""
        for key, service in self._services.items():
            if key != "s3" or not spare_emulator:
                service.process.signal(service.process.stop_signal)

    def _cancel_starts(self, pool: ThreadPoolExecutor) -> None:
        """Cut short the starts still in flight, and wait for them: no start may land after down."""
        self._cancelled.set()
        pool.shutdown(wait=False, cancel_futures=True)
        threads = [t for t in threading.enumerate() if t.name.startswith(self._pool_prefix)]
        # The emulator stays up for the destroy (unless Terraform was abandoned: no destroy).
        applying = self._infra is not None and self._infra.applied and not self._infra.abandoned
        pg = self._services.get("postgres")
        while any(t.is_alive() for t in threads):
            if self._launcher is not None:
                self._launcher.kill_oneshots()
            if self._infra is not None and not self._up_complete:
                self._infra.cancel()  # Terraform stops and saves its state; destroy follows
            self._signal_services(spare_emulator=applying)  # a server that is starting stops right away
            if pg is not None:  # initdb runs inside PostgresService.start() with no handle of ours
                kill_by_argument(str(pg.data_dir), spare=pg.process.pid)
            for thread in threads:
                thread.join(timeout=0.1)

    def _settle(self, infra: TerraformEnv) -> None:
        """The background apply must end well: anything else fails the run (teardown error)."""
        problem = infra.settle()
        self.timings.update({f"terraform_{k}": v for k, v in infra.timings.items()})
        if problem is not None and self._up_complete:  # after a failed up(), we cancelled it
            self._teardown_problems.append(problem)

    def _cleanup_aws(self) -> None:
        infra, access, self._infra, self._access = self._infra, self._access, None, None
        if infra is None:
            return
        self._destroying = infra  # a second Ctrl-C can still abandon it
        self._timed("terraform_apply_rest", lambda: self._settle(infra))
        if access is not None and not infra.abandoned:
            leaks, problems = destroy_and_check(
                infra, access, self._services.get("s3"), run_id=self.run_id, logs_dir=self.logs_dir,
                ready_timeout=self.settings.ready_timeout_s)
            if not infra.abandoned:  # else: what destroy left dies with the emulator, next
                self.leaks = leaks
                self._teardown_problems += problems
        if infra.abandoned:
            log = self.logs_dir / "terraform.log"
            with contextlib.suppress(OSError), open(log, "a", encoding="utf-8") as handle:
                handle.write("harness: destroy skipped: the run was interrupted; the run's own emulator "
                             "stops with everything Terraform created in it\n")
        self._destroying = None

    def _write_evidence(self, path: Path, body: object) -> None:
        """JSON for reviewers and benchmarks; a teardown never fails for want of it."""
        with contextlib.suppress(OSError):
            path.write_text(json.dumps(body, indent=1, default=str) + "\n")


__all__ = ["LocalLifecycle"]
