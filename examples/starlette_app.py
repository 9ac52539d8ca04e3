"""Starlette: ``uvicorn examples.starlette_app:app``."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route as Endpoint

from webhook_guard import Guard, Route, get_verdict
from webhook_guard.providers import dingtalk

os.environ.setdefault("DINGTALK_APP_SECRET", "example-secret-change-me")

guard = Guard([Route("/hooks/dingtalk", dingtalk(secret="env:DINGTALK_APP_SECRET"))])


async def dingtalk_hook(request: Request) -> JSONResponse:
    verdict = get_verdict(request)
    # DingTalk signs the timestamp only: treat the body as unauthenticated input.
    return JSONResponse({"verified": verdict.verified, "body_signed": verdict.body_signed})


app = guard.asgi(Starlette(routes=[Endpoint("/hooks/dingtalk", dingtalk_hook, methods=["POST"])]))
