"""The module uvicorn imports: settings from the environment, one app per process."""

from __future__ import annotations

from easy_upload.api import build_app

app = build_app()
