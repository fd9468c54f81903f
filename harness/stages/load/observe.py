"""What the load stage observes itself, apart from the component it judges.

The autoscaler and the rollout controller decide; the stage does not ask them what they did. It
looks at the effect:

* **replicas**: the process table (psutil over this process' descendants) -- every process that
  runs ``python -m <module> api|worker`` (the app's process contract; the module is
  ``processes.module`` of ``scenarios/app.yaml``) of this environment (its
  ``DATABASE_URL`` is the Environment's), its version from its own ``APP_VERSION``, its port from its
  arguments; on a platform whose replicas are not processes of this host (no ``pid``), the replicas
  the platform lists (a cluster's API server, not its HPA controller);
* **CPU**: each replica's CPU seconds (psutil, children included) over the stage's own intervals,
  as percent of the declared ``requests.cpu``;
* **traffic**: each API replica's own request counters (``http_requests_total`` of its ``/metrics``,
  scraped directly, never through the router), by the ``version`` label, probes excluded.

:class:`Observer` samples all three in a thread while Locust runs; the series are plain data for
the pure checks in :mod:`.hpa_checks` and :mod:`.canary_checks`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.targets.base import Control

COMPONENTS = ("api", "worker")
PROBE_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})


@dataclass(frozen=True, slots=True)
class SeenReplica:
    """One replica as the stage saw it."""

    key: str  # pid, or the platform's replica name
    component: str
    version: str
    metrics_url: str | None
    cpu_seconds: float | None


def app_processes(database_url: str | None, module: str) -> list[SeenReplica]:
    """Descendants of this process running ``python -m <module>`` replicas of the environment at
    ``database_url``."""
    import psutil

    found: dict[int, SeenReplica] = {}
    parents: dict[int, int] = {}
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            seen = _as_replica(proc, database_url, module)
            if seen is not None:
                found[proc.pid], parents[proc.pid] = seen, proc.ppid()
    # a forked child has its parent's command line: the replica is the topmost one
    return [seen for pid, seen in found.items() if parents[pid] not in found]


def _as_replica(proc: object, database_url: str | None, module: str) -> SeenReplica | None:
    import psutil

    assert isinstance(proc, psutil.Process)
    argv = proc.cmdline()
    if "-m" not in argv or argv.index("-m") + 2 >= len(argv) or argv[argv.index("-m") + 1] != module:
        return None
    component = argv[argv.index("-m") + 2]
    environ = proc.environ()
    if component not in COMPONENTS or (database_url and environ.get("DATABASE_URL") != database_url):
        return None
    port = argv[argv.index("--port") + 1] if "--port" in argv[:-1] else environ.get("WORKER_METRICS_PORT")
    times = proc.cpu_times()
    cpu = times.user + times.system + times.children_user + times.children_system
    return SeenReplica(
        str(proc.pid),
        component,
        environ.get("APP_VERSION", "?"),
        f"http://127.0.0.1:{port}/metrics" if port else None,
        float(cpu),
    )


def platform_replicas(control: Control) -> list[SeenReplica]:
    """The replicas as the platform lists them (for replicas that are not processes of this host)."""
    return [
        SeenReplica(r.name, c, r.version, r.metrics_url, r.cpu_seconds)
        for c in COMPONENTS
        for r in control.replicas(c)
    ]


def served(metrics_text: str) -> dict[str, tuple[int, int]]:
    """``version -> (user requests, 5xx)`` from one replica's ``http_requests_total`` (probes excluded)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, tuple[int, int]] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name != "http_requests_total" or sample.labels.get("route") in PROBE_ROUTES:
                continue
            version = sample.labels.get("version", "?")
            total, errors = out.get(version, (0, 0))
            bad = int(sample.value) if sample.labels.get("status", "").startswith("5") else 0
            out[version] = (total + int(sample.value), errors + bad)
    return out


@dataclass(slots=True)
class Series:
    """The stage's observations, wall-clock times (``time.time()``)."""

    counts: list[tuple[float, dict[str, dict[str, int]]]] = field(
        default_factory=list
    )  # component->version->n
    cpu: list[tuple[float, dict[str, float]]] = field(
        default_factory=list
    )  # component -> summed % of request
    traffic: list[tuple[float, dict[str, tuple[int, int]]]] = field(default_factory=list)  # version deltas

    def count(self, component: str) -> list[tuple[float, int]]:
        return [(t, sum(c.get(component, {}).values())) for t, c in self.counts]

    def demand(self, component: str) -> list[tuple[float, float]]:
        """CPU the component's replicas used, summed, in percent of one replica's request."""
        return [(t, u[component]) for t, u in self.cpu if component in u]

    def versions_at_end(self, component: str) -> dict[str, int]:
        return dict(self.counts[-1][1].get(component, {})) if self.counts else {}


class Observer:
    """Samples replicas every ``period_s``; CPU and traffic every ``every`` samples (in a thread)."""

    def __init__(
        self,
        list_replicas: Callable[[], list[SeenReplica]],
        cpu_requests: dict[str, float],
        *,
        period_s: float = 0.25,
        every: int = 4,
    ) -> None:
        self.list_replicas = list_replicas
        self.cpu_requests = cpu_requests
        self.period_s, self.every = period_s, every
        self.series = Series()
        self.errors: list[str] = []
        self._cpu: dict[str, tuple[float, float]] = {}
        self._served: dict[str, dict[str, tuple[int, int]]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._baseline = False
        self._unscraped: set[str] = set()

    def start(self) -> None:
        self._baseline = True
        self.sample(full=True)  # the baseline: counters and CPU before anything happens
        self._baseline = False
        self._thread = threading.Thread(target=self._run, name="load-observer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sample(full=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(self.period_s):
            n += 1
            try:
                self.sample(full=n % self.every == 0)
            except Exception as exc:  # an observation gap, reported with the results
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def sample(self, *, full: bool) -> None:
        now, replicas = time.time(), self.list_replicas()
        counts: dict[str, dict[str, int]] = {c: {} for c in COMPONENTS}
        for r in replicas:
            counts[r.component][r.version] = counts[r.component].get(r.version, 0) + 1
        self.series.counts.append((now, counts))
        if full:
            self._sample_cpu(now, replicas)
            self._sample_traffic(now, replicas)

    def _sample_cpu(self, now: float, replicas: Sequence[SeenReplica]) -> None:
        per: dict[str, list[float]] = {}
        for r in replicas:
            last = self._cpu.get(r.key)
            if r.cpu_seconds is None:
                continue
            self._cpu[r.key] = (now, r.cpu_seconds)
            if last is not None and now > last[0]:
                cores = (r.cpu_seconds - last[1]) / (now - last[0])
                per.setdefault(r.component, []).append(
                    100.0 * cores / self.cpu_requests.get(r.component, 1.0)
                )
        if per:
            self.series.cpu.append((now, {c: sum(v) for c, v in per.items()}))

    def _sample_traffic(self, now: float, replicas: Sequence[SeenReplica]) -> None:
        import httpx

        deltas: dict[str, tuple[int, int]] = {}
        with httpx.Client(timeout=2.0) as client:
            for r in replicas:
                if r.component != "api" or r.metrics_url is None:
                    continue
                if self._baseline:
                    self._unscraped.add(r.key)
                try:
                    current = served(client.get(r.metrics_url).text)
                except (httpx.HTTPError, ValueError):
                    continue  # starting or stopping: its requests show at the next scrape, if any
                # a replica that was there before the scenario: its first scrape is its baseline
                before = current if r.key in self._unscraped else self._served.get(r.key, {})
                self._unscraped.discard(r.key)
                self._served[r.key] = current
                for version, (total, errors) in current.items():
                    t0, e0 = before.get(version, (0, 0))
                    dt, de = deltas.get(version, (0, 0))
                    deltas[version] = (dt + max(0, total - t0), de + max(0, errors - e0))
        self.series.traffic.append((now, deltas))


__all__ = ["COMPONENTS", "Observer", "SeenReplica", "Series", "app_processes", "platform_replicas", "served"]
