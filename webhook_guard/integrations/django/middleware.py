"""Django middleware running the guard on ``request.path_info`` (sync and async)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
)
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from webhook_guard._url import public_url, server_host
from webhook_guard.core.guard import Plan
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import VERDICT_KEY, Reason, Verdict
from webhook_guard.guard import Guard, run_detached
from webhook_guard.integrations.django.conf import get_guard
from webhook_guard.integrations.django.exempt import mark_verified
from webhook_guard.responses import render

__all__ = ("WebhookGuardMiddleware",)


class WebhookGuardMiddleware:
    """Verifies webhook requests configured in ``settings.WEBHOOK_GUARD``.

    The verdict is stored in ``request.META["webhook_guard.verdict"]`` (read it with
    ``get_verdict(request)``); rejected requests never reach the view.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.guard: Guard = get_guard()
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        # A sync-only Redis client under an async chain (or the reverse) refuses every
        # guarded request with 503: say so at start-up, as guard.wsgi()/.asgi() do.
        self.guard.check_store_mode(asynchronous=self.async_mode)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        found = self.guard.match(request.path_info)
        if found is None:
            return self.get_response(request)
        started = time.perf_counter()
        prepared = self._prepare(found, request, started)
        if isinstance(prepared, Verdict):
            return _response(prepared)
        plan, webhook = prepared
        guard = self.guard
        verdict = guard.verify(plan, webhook)
        if verdict.replay_key is not None and guard.store is not None:
            verdict = guard.settle(plan, verdict, guard.claim(verdict))
        guard.record(verdict, started, method=webhook.method)
        early = self._early(verdict, request)
        if early is not None:
            return early
        try:
            response = self.get_response(request)
        except BaseException:
            guard.finish(plan, verdict, None)
            raise
        if getattr(response, "streaming", False):
            _StreamSettler(guard, plan, verdict, response, asynchronous=False).watch()
        else:
            guard.finish(plan, verdict, response.status_code)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        found = self.guard.match(request.path_info)
        get_response: Callable[[HttpRequest], Awaitable[Any]] = self.get_response
        if found is None:
            return await get_response(request)
        started = time.perf_counter()
        prepared = self._prepare(found, request, started)
        if isinstance(prepared, Verdict):
            return _response(prepared)
        plan, webhook = prepared
        guard = self.guard
        verdict = guard.verify(plan, webhook)
        if verdict.replay_key is not None and guard.store is not None:
            verdict = guard.settle(plan, verdict, await guard.aclaim(verdict))
        guard.record(verdict, started, method=webhook.method)
        early = self._early(verdict, request)
        if early is not None:
            return early
        try:
            response = await get_response(request)
        except BaseException:
            await guard.afinish(plan, verdict, None)
            raise
        if getattr(response, "streaming", False):
            _StreamSettler(guard, plan, verdict, response, asynchronous=True).watch()
        else:
            await guard.afinish(plan, verdict, response.status_code)
        return response

    def _prepare(
        self, found: Any, request: HttpRequest, started: float
    ) -> Verdict | tuple[Plan, WebhookRequest]:
        method = request.method or "GET"
        meta = request.META
        declared = meta.get("CONTENT_LENGTH")
        # Django's WSGI request reads CONTENT_LENGTH bytes only: a chunked body would look
        # empty, so it is refused plainly (411; ``guard.wsgi(...)`` in wsgi.py reads it).
        # Under ASGI the server frames the body.
        plan = self.guard.plan(
            found,
            content_length=(declared,) if declared else (),
            transfer_encoding=meta.get("HTTP_TRANSFER_ENCODING"),
            terminated="wsgi.input" not in meta,
        )
        if plan.refusal is not None:
            self.guard.record(plan.refusal, started, method=method)
            return plan.refusal
        try:
            body = request.body
        except RequestDataTooBig:  # above DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses it
            return self._refuse(plan, Reason.BODY_TOO_LARGE, started, method)
        except Exception:  # already consumed by earlier middleware, or a broken stream
            return self._refuse(plan, Reason.BODY_INCOMPLETE, started, method)
        if len(body) > plan.target.max_body:  # type: ignore[union-attr]
            return self._refuse(plan, Reason.BODY_TOO_LARGE, started, method)
        webhook = WebhookRequest(
            method=method,
            path=request.path_info,
            headers=Headers.from_environ(meta),
            body=body,
            query=meta.get("QUERY_STRING", ""),
            url=self._url(plan, request) if _needs_url(plan) else "",
            params=plan.params,
        )
        return plan, webhook

    def _refuse(self, plan: Plan, reason: Reason, started: float, method: str) -> Verdict:
        verdict = self.guard.refuse(plan, reason)
        self.guard.record(verdict, started, method=method)
        return verdict

    def _url(self, plan: Plan, request: HttpRequest) -> str:
        """The public URL for URL-signed schemes: the route's ``public_url``, else rebuilt
        from the request; forwarded headers count only from ``Guard(trusted_proxies=...)``
        (Django's ``USE_X_FORWARDED_HOST`` and ``SECURE_PROXY_SSL_HEADER`` are not consulted:
        they trust every peer)."""
        meta = request.META
        # The server's own scheme (``request.scheme`` would apply SECURE_PROXY_SSL_HEADER).
        get_scheme = getattr(request, "_get_scheme", None)
        return public_url(
            configured=plan.target.route.public_url,  # type: ignore[union-attr]
            scheme=get_scheme() if get_scheme is not None else request.scheme,
            host=meta.get("HTTP_HOST") or server_host(meta),
            root_path=meta.get("SCRIPT_NAME", ""),
            path=request.path_info,
            query=meta.get("QUERY_STRING", ""),
            headers=Headers.from_environ(meta),
            peer=meta.get("REMOTE_ADDR"),
            trusted=self.guard.trusted_proxies,
        )

    @staticmethod
    def _early(verdict: Verdict, request: HttpRequest) -> HttpResponse | None:
        if not verdict.passes:
            return _response(verdict)
        if verdict.response is not None:
            status, headers, content = verdict.response
            response = HttpResponse(content, status=status)
            for name, value in headers:
                response[name] = value
            return response
        request.META[VERDICT_KEY] = verdict
        mark_verified(request, verdict)
        return None


class _StreamSettler:
    """Settles the claim of a streaming response once its content has been sent, as the
    WSGI adapter does: a 2xx commits when the content is exhausted or the response is
    closed (also when the client went away mid-stream), an exception while streaming
    releases (the provider's retry is processed)."""

    __slots__ = ("bridged", "guard", "plan", "response", "settled", "status", "verdict")

    def __init__(
        self, guard: Guard, plan: Plan, verdict: Verdict, response: Any, *, asynchronous: bool
    ) -> None:
        self.guard = guard
        self.plan = plan
        self.verdict = verdict
        self.response = response
        self.status: int = response.status_code
        self.settled = False
        # Under ASGI a sync iterator and close() run in a worker thread: with a store that
        # has only an asyncio client, settle through it (on the event loop).
        usable = getattr(guard.store, "usable", None)
        self.bridged = asynchronous and usable is not None and not usable(asynchronous=False)

    def watch(self) -> None:
        response = self.response
        content = response.streaming_content
        response.streaming_content = (
            self._async(content) if response.is_async else self._sync(content)
        )
        # close() is always called by the handler: the content was never (or not fully)
        # iterated, e.g. a client gone mid-stream; the app's answer stands.
        response._resource_closers.append(self._closed)

    def _settle(self, status: int | None) -> None:
        if not self.settled:
            self.settled = True
            if self.bridged:
                _run_on_loop(self.guard.afinish, self.plan, self.verdict, status)
            else:
                self.guard.finish(self.plan, self.verdict, status)

    def _closed(self) -> None:
        self._settle(self.status)

    def _sync(self, content: Iterable[bytes]) -> Iterator[bytes]:
        try:
            yield from content
        except GeneratorExit:
            raise
        except BaseException:
            self._settle(None)
            raise
        self._settle(self.status)

    async def _asettle(self, status: int | None) -> None:
        if not self.settled:
            self.settled = True
            await self.guard.afinish(self.plan, self.verdict, status)

    async def _async(self, content: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        try:
            async for part in content:
                yield part
        except GeneratorExit:
            raise
        except asyncio.CancelledError:
            # Django cancels the response when the client goes away: the answer stands.
            await self._asettle(self.status)
            raise
        except BaseException:
            await self._asettle(None)
            raise
        await self._asettle(self.status)


def _run_on_loop(afinish: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
    """Run ``afinish(*args)`` (``Guard.afinish``, which never raises) on the event loop:
    from a worker thread (Django runs sync iterators and ``close()`` in one), wait for it;
    on the loop's own thread, schedule it."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(afinish)(*args)
        return
    run_detached(loop, afinish(*args))


def _needs_url(plan: Plan) -> bool:
    scheme = plan.target.scheme  # type: ignore[union-attr]
    return scheme is not None and scheme.needs_url


def _response(verdict: Verdict) -> HttpResponse:
    status, headers, body = render(verdict)
    response = HttpResponse(body, status=status)
    for name, value in headers:
        if name.lower() != "content-length":
            response[name] = value
    return response
