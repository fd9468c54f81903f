"""Planted defects for the real reference app, applied at interpreter start (``sitecustomize``).

The app is not edited: :func:`planted_app_path` writes a ``sitecustomize.py`` that the app's
processes import first (its folder goes on PYTHONPATH through ``TargetSettings.app_path``), and
``HARNESS_PLANTED_FLAWS`` picks the defects:

* ``ownership``: uploads are looked up without their owner (any user reads any upload);
* ``no_completed``: the worker never publishes the ``completed`` event (with a long SSE recheck,
  subscribers then never hear of completion).
"""

from __future__ import annotations

from pathlib import Path

SITECUSTOMIZE = """
import os

_flaws = set(filter(None, os.environ.get("HARNESS_PLANTED_FLAWS", "").split(",")))
if "ownership" in _flaws:
    from easy_upload import db as _db

    _get_upload = _db.get_upload

    async def get_upload(pool, upload_id, user_id=None):
        return await _get_upload(pool, upload_id, None)

    _db.get_upload = get_upload
if "no_completed" in _flaws:
    from easy_upload import worker as _worker

    _emit = _worker.Processor._emit

    async def _skip_completed(self, upload_id, seq, event, *args, **kwargs):
        if event != "completed":
            await _emit(self, upload_id, seq, event, *args, **kwargs)

    _worker.Processor._emit = _skip_completed
"""


def planted_app_path(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return directory
