"""Launchers for the real services an environment needs, as child processes on 127.0.0.1.

Used by the local target and by the reference app's tests (one implementation, not two).
"""

from __future__ import annotations

from harness.services.moto import MotoService
from harness.services.postgres import PostgresService, find_postgres
from harness.services.process import ManagedProcess, free_port, port_is_open, stop_all, wait_until
from harness.services.proxy import TcpProxy
from harness.services.redis import RedisService, find_redis

__all__ = ["ManagedProcess", "MotoService", "PostgresService", "RedisService", "TcpProxy", "find_postgres",
           "find_redis", "free_port", "port_is_open", "stop_all", "wait_until"]
