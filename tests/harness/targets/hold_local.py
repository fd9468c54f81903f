"""Hold a LocalTarget in a child process until a signal arrives (for the SIGTERM/SIGINT tests).

``python -m tests.harness.targets.hold_local APP_PATH RUN_DIR RUN_ID``: prints ``ready <ports>``
once up, then sleeps. Nothing here calls ``down()``: the target's own signal and exit handling must.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import psutil

from harness.targets.local import LocalTarget
from tests.harness.targets.conftest import small_settings


def main(app_path: str, run_dir: str, run_id: str) -> None:
    settings = small_settings(Path(run_dir), app_path=Path(app_path), ready_timeout_s=30)
    LocalTarget(settings, run_id=run_id).up()
    me = psutil.Process()
    pids = {me.pid} | {p.pid for p in me.children(recursive=True)}
    ports = sorted({
        c.laddr[1] for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.pid in pids and c.laddr
    })
    print("ready", json.dumps(ports), flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
