"""Prometheus metrics of the API and the worker (one registry per process, labelled with the version)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
SIZE_BUCKETS = tuple(float(1024 * 4**n) for n in range(11))  # 1 KiB .. 1 GiB


class Metrics:
    """All series in one object so tests and both processes can hold their own registry."""

    def __init__(self, version: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.version = version
        r = self.registry
        self.info = Gauge(
            "easy_upload_build_info", "Running version (value is always 1)", ["version"], registry=r
        )
        self.info.labels(version).set(1)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by route, method and status",
            ["route", "method", "status", "version"],
            registry=r,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["route", "method", "status", "version"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upload_bytes = Counter(
            "upload_bytes_total", "Bytes accepted into raw storage", ["version"], registry=r
        )
        self.upload_size = Histogram(
            "upload_size_bytes", "Size of accepted uploads", ["version"], buckets=SIZE_BUCKETS, registry=r
        )
        self.uploads = Counter(
            "uploads_total", "Upload attempts by outcome", ["outcome", "version"], registry=r
        )
        self.limited = Counter(
            "requests_limited_total",
            "Requests answered 429 by a per-user limit",
            ["limit", "version"],
            registry=r,
        )
        self.sse_open = Gauge("sse_open_streams", "Open SSE event streams", ["version"], registry=r)
        self.queue_depth = Gauge(
            "queue_depth", "Jobs in the processing queue by state", ["state"], registry=r
        )
        self.jobs = Counter(
            "jobs_total",
            "Finished job attempts by outcome and type",
            ["outcome", "type", "version"],
            registry=r,
        )
        self.job_duration = Histogram(
            "job_duration_seconds",
            "Job processing time by outcome",
            ["outcome", "type", "version"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.dependency_errors = Counter(
            "dependency_errors_total",
            "Requests failed by an unavailable dependency",
            ["dependency", "version"],
            registry=r,
        )
