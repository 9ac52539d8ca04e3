"""Flask: ``GITHUB_WEBHOOK_SECRET=... flask --app examples/flask_app.py run``."""

from __future__ import annotations

import os

from flask import Flask, request

from webhook_guard import Guard, Route, get_verdict
from webhook_guard.providers import github, seatable

os.environ.setdefault("GITHUB_WEBHOOK_SECRET", "example-secret-change-me")
os.environ.setdefault("SEATABLE_WEBHOOK_SECRET", "example-secret-change-me")

guard = Guard(
    [
        Route("/hooks/github/{repo}", github(secret="env:GITHUB_WEBHOOK_SECRET")),
        Route("/hooks/seatable", seatable(secret="env:SEATABLE_WEBHOOK_SECRET")),
    ]
)

app = Flask(__name__)
app.wsgi_app = guard.wsgi(app.wsgi_app)  # type: ignore[method-assign]


@app.post("/hooks/github/<repo>")
def github_hook(repo: str) -> dict[str, object]:
    verdict = get_verdict(request)  # only verified deliveries get here
    return {"repo": repo, "key_id": verdict.key_id, "bytes": len(request.get_data())}


@app.post("/hooks/seatable")
def seatable_hook() -> dict[str, object]:
    return {"verified": get_verdict(request).verified}
