from __future__ import annotations

from webhook_guard.cli import main

raise SystemExit(main())
