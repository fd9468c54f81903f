from __future__ import annotations

from easy_upload.cli import main

raise SystemExit(main())
