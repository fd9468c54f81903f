"""Settings from the environment (12-factor): one frozen object, read once per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from easy_upload.budget import FIXED_BYTES, MIB, Budget
from easy_upload.errors import ConfigError


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Every knob of the app; see the table in reference_app/README.md."""

    database_url: str = "postgresql://postgres@127.0.0.1:5432/easy_upload"
    redis_url: str = "redis://127.0.0.1:6379/0"
    s3_endpoint_url: str | None = None
    s3_public_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    raw_bucket: str = "raw-uploads"
    processed_bucket: str = "processed-uploads"
    create_buckets: bool = False
    max_upload_bytes: int = 100 * MIB
    part_size_bytes: int = 8 * MIB
    cors_origins: tuple[str, ...] = ()
    token_signing_key: str = ""
    sse_token_ttl_s: int = 300
    sse_heartbeat_s: float = 15.0
    presign_ttl_s: int = 300
    app_version: str = "dev"
    queue_name: str = "easy-upload"
    worker_concurrency: int = 2
    worker_metrics_port: int = 9101
    worker_lock_ms: int = 30_000
    worker_stalled_ms: int = 15_000
    job_attempts: int = 5
    job_backoff_ms: int = 1_000
    worker_step_delay_ms: int = 0
    max_streams_per_user: int = 32
    max_uploads_per_user: int = 8
    limit_retry_after_s: int = 5
    redis_max_connections: int = 32
    body_idle_timeout_s: float = 30.0
    body_grace_s: float = 10.0
    body_min_rate_bps: float = 4096.0
    header_timeout_s: float = 10.0
    multipart_sweep_s: float = 60.0
    settle_after_s: float = 120.0
    job_memory_budget_mib: int = 192
    fault_error_rate: float = 0.0
    fault_latency_ms: int = 0
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``), validating as we go."""
        env = os.environ if env is None else env
        settings = cls(
            database_url=env.get("DATABASE_URL", cls.database_url),
            redis_url=env.get("REDIS_URL", cls.redis_url),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            s3_public_endpoint_url=env.get("S3_PUBLIC_ENDPOINT_URL") or None,
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or cls.aws_region,
            raw_bucket=env.get("RAW_BUCKET", cls.raw_bucket),
            processed_bucket=env.get("PROCESSED_BUCKET", cls.processed_bucket),
            create_buckets=env.get("CREATE_BUCKETS", "").lower() in {"1", "true", "yes"},
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            part_size_bytes=_int(env, "UPLOAD_PART_BYTES", cls.part_size_bytes),
            cors_origins=_list(env, "CORS_ORIGINS"),
            token_signing_key=env.get("TOKEN_SIGNING_KEY", ""),
            sse_token_ttl_s=_int(env, "SSE_TOKEN_TTL_S", cls.sse_token_ttl_s),
            sse_heartbeat_s=_float(env, "SSE_HEARTBEAT_S", cls.sse_heartbeat_s),
            presign_ttl_s=_int(env, "PRESIGN_TTL_S", cls.presign_ttl_s),
            app_version=env.get("APP_VERSION", cls.app_version),
            queue_name=env.get("QUEUE_NAME", cls.queue_name),
            worker_concurrency=_int(env, "WORKER_CONCURRENCY", cls.worker_concurrency),
            worker_metrics_port=_int(env, "WORKER_METRICS_PORT", cls.worker_metrics_port),
            worker_lock_ms=_int(env, "WORKER_LOCK_MS", cls.worker_lock_ms),
            worker_stalled_ms=_int(env, "WORKER_STALLED_MS", cls.worker_stalled_ms),
            job_attempts=_int(env, "JOB_ATTEMPTS", cls.job_attempts),
            job_backoff_ms=_int(env, "JOB_BACKOFF_MS", cls.job_backoff_ms),
            worker_step_delay_ms=_int(env, "WORKER_STEP_DELAY_MS", cls.worker_step_delay_ms),
            max_streams_per_user=_int(env, "MAX_STREAMS_PER_USER", cls.max_streams_per_user),
            max_uploads_per_user=_int(env, "MAX_UPLOADS_PER_USER", cls.max_uploads_per_user),
            limit_retry_after_s=_int(env, "LIMIT_RETRY_AFTER_S", cls.limit_retry_after_s),
            redis_max_connections=_int(env, "REDIS_MAX_CONNECTIONS", cls.redis_max_connections),
            body_idle_timeout_s=_float(env, "BODY_IDLE_TIMEOUT_S", cls.body_idle_timeout_s),
            body_grace_s=_float(env, "BODY_GRACE_S", cls.body_grace_s),
            body_min_rate_bps=_float(env, "BODY_MIN_RATE_BPS", cls.body_min_rate_bps),
            header_timeout_s=_float(env, "HEADER_TIMEOUT_S", cls.header_timeout_s),
            multipart_sweep_s=_float(env, "MULTIPART_SWEEP_S", cls.multipart_sweep_s),
            settle_after_s=_float(env, "SETTLE_AFTER_S", cls.settle_after_s),
            job_memory_budget_mib=_int(env, "JOB_MEMORY_BUDGET_MIB", cls.job_memory_budget_mib),
            fault_error_rate=_float(env, "FAULT_ERROR_RATE", cls.fault_error_rate),
            fault_latency_ms=_int(env, "FAULT_LATENCY_MS", cls.fault_latency_ms),
            log_level=env.get("LOG_LEVEL", cls.log_level).upper(),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse settings that cannot work, with one clear message."""
        if not 0.0 <= self.fault_error_rate <= 1.0:
            raise ConfigError("FAULT_ERROR_RATE must be between 0 and 1")
        if self.part_size_bytes < 5 * MIB:
            raise ConfigError("UPLOAD_PART_BYTES must be at least 5 MiB (the S3 minimum part size)")
        if self.max_upload_bytes <= 0:
            raise ConfigError("MAX_UPLOAD_BYTES must be positive")
        if min(self.max_streams_per_user, self.max_uploads_per_user, self.limit_retry_after_s) < 1:
            raise ConfigError("MAX_STREAMS_PER_USER, MAX_UPLOADS_PER_USER, LIMIT_RETRY_AFTER_S must be >= 1")
        if min(self.body_idle_timeout_s, self.body_grace_s, self.body_min_rate_bps, self.header_timeout_s,
               self.multipart_sweep_s) <= 0:
            raise ConfigError("BODY_*, HEADER_TIMEOUT_S and MULTIPART_SWEEP_S must be positive")
        if self.redis_max_connections < 4:
            raise ConfigError("REDIS_MAX_CONNECTIONS must be at least 4")
        if self.job_memory_budget_mib * MIB <= FIXED_BYTES:
            raise ConfigError(f"JOB_MEMORY_BUDGET_MIB must exceed {FIXED_BYTES // MIB} (a job's fixed part)")
        if self.settle_after_s * 1000 < self.worker_lock_ms:
            raise ConfigError("SETTLE_AFTER_S must be at least WORKER_LOCK_MS (a live job's lock)")
        if self.fault_latency_ms < 0:
            raise ConfigError("FAULT_LATENCY_MS must not be negative")

    def job_budget(self) -> Budget:
        """The memory one job may use (see budget.py)."""
        return Budget(self.job_memory_budget_mib * MIB)

    @property
    def presign_endpoint_url(self) -> str | None:
        """The S3 endpoint browsers reach (differs from the app's inside a compose network)."""
        return self.s3_public_endpoint_url or self.s3_endpoint_url

    def signing_key(self) -> bytes:
        """The key for short-lived SSE tokens; an unset key is refused where tokens are made."""
        if not self.token_signing_key:
            raise ConfigError("TOKEN_SIGNING_KEY is not set")
        return self.token_signing_key.encode()
