"""FastAPI: ``uvicorn examples.fastapi_app:app``. Configured from ``webhook_guard.toml``."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request

from webhook_guard import Guard, get_verdict
from webhook_guard.asgi import ASGIWebhookGuard

os.environ.setdefault("GITHUB_WEBHOOK_SECRET", "example-secret-change-me")
os.environ.setdefault("SEATABLE_WEBHOOK_SECRET", "example-secret-change-me")

app = FastAPI()
app.add_middleware(
    ASGIWebhookGuard, guard=Guard.from_file(Path(__file__).with_name("webhook_guard.toml"))
)


@app.post("/hooks/github/{repo}")
async def github_hook(repo: str, request: Request) -> dict[str, object]:
    verdict = get_verdict(request)
    return {"repo": repo, "key_id": verdict.key_id, "bytes": len(await request.body())}
