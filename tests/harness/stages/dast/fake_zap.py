"""A fake ``zap.sh``: checks the daemon arguments, then serves the ZAP stand-in on the given port.

Usage as the harness calls it: ``fake_zap.py -daemon -host 127.0.0.1 -port N -config api.key=K ...``.
Every call is appended as a JSON line to ``$FAKE_ZAP_LOG``; ``core/action/shutdown`` ends it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from tests.harness.stages.dast.zap_standin import ZapStandIn, serve_standin


def main(argv: list[str]) -> None:
    assert argv[0] == "-daemon", argv
    options = dict(zip(argv[1::2], argv[2::2], strict=False))
    assert options["-host"] == "127.0.0.1", argv
    configs = [argv[i + 1] for i, a in enumerate(argv) if a == "-config"]
    key = next(c.split("=", 1)[1] for c in configs if c.startswith("api.key="))
    assert len(key) >= 20 and "api.addrs.addr.name=127.0.0.1" in configs, configs
    log = Path(os.environ["FAKE_ZAP_LOG"])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the harness stops us after shutdown
    with serve_standin(ZapStandIn(api_key=key), port=int(options["-port"])) as standin:
        try:
            while "core/action/shutdown" not in standin.names():
                time.sleep(0.05)
        finally:
            lines = [json.dumps({"name": c.name, "key_ok": c.api_key == key}) for c in standin.calls]
            log.write_text("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
