"""Verify-only cost against the providers' own SDKs, side by side in one run.

``python -m benchmarks.verify_vs_sdk [--rounds N] [--batch N] [--only NAME]``

Each pair verifies the same signed request: the signature is made by the provider's
SDK outside the timing, then

- ours: ``scheme.check(request, keys, now)`` on a prepared ``WebhookRequest`` (headers
  from a WSGI environ, as the WSGI adapter builds them; one fresh request per call, so
  nothing is cached between calls) with the route's prepared ``KeySet``;
- the SDK: its documented verification call on the same body and headers.

Cases (PERFORMANCE.md targets, median of per-round ratios, ours / SDK):

- Stripe: ``stripe.WebhookSignature.verify_header(payload, header, secret, 300)`` <= 0.6x
- Standard Webhooks: ``standardwebhooks.Webhook.verify(body, headers, json_parse=False)``
  <= 0.5x (``svix.webhooks.Webhook.verify`` reported beside it)
- Slack: ``slack_sdk.signature.SignatureVerifier.is_valid(body, ts, sig)`` <= 1.0x
- Twilio: ``twilio.request_validator.RequestValidator.validate(url, params, sig)`` with
  the form parameters parsed as a framework hands them over <= 0.5x

The 2,048-byte JSON body of ``benchmarks.common`` (Twilio: a form of the same size).

Stripe and Slack also run a ceiling: our rules for that provider inlined in one function
for one key (``benchmarks.ceiling``), reported as ceiling / SDK: how low plain Python can
go on these rules, whatever the code around them.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import platform
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from benchmarks.ceiling import slack_inlined, stripe_inlined
from benchmarks.common import (
    Prepare,
    Results,
    interleave,
    median_us,
    quartiles_us,
    ratio,
)
from webhook_guard.core.keys import KeySet, Secret
from webhook_guard.core.request import Headers, WebhookRequest
from webhook_guard.core.verdict import Reason
from webhook_guard.providers import get

STRIPE_SECRET = "whsec_bench_stripe_signing_secret_0123456789"
WHSEC = "whsec_" + base64.b64encode(b"bench-standard-webhooks-key-32byt").decode()
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TWILIO_TOKEN = "12345678901234567890123456789012"
TWILIO_URL = "https://hooks.example.com/hooks/twilio?account=1"

Pool = list[tuple[bytes, bytes]]
Pair = tuple[str, str, Callable[[Pool], Callable[[], float]], Callable[[Pool], Callable[[], float]]]
_VERIFIED = Reason.VERIFIED


def _environ(headers: dict[str, str]) -> dict[str, Any]:
    environ: dict[str, Any] = {}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    return environ


def _request(headers: dict[str, str], body: bytes, url: str = "", query: str = "") -> WebhookRequest:
    return WebhookRequest(
        "POST", "/hooks/p", Headers.from_environ(_environ(headers)), body, query, url
    )


def _ours(name: str, secret: str, signed: Callable[[bytes], tuple[dict[str, str], bytes]],
          *, url: str = "", now: Callable[[], float] = time.time) -> Prepare:
    scheme = get(name)(secret=secret)
    keys = KeySet([Secret(secret, key_id="k0")])

    def prepare(pool: Pool) -> Callable[[], float]:
        query = url.partition("?")[2]
        requests = [_request(*signed(body), url=url, query=query) for body, _ in pool]
        check = scheme.check
        at = now()
        assert check(requests[0], keys, at)[0] is _VERIFIED
        requests = [_request(*signed(body), url=url, query=query) for body, _ in pool]

        def run() -> float:
            t0 = time.perf_counter()
            for request in requests:
                check(request, keys, at)
            return time.perf_counter() - t0

        return run

    return prepare


def _inlined(factory: Callable[[str], Any], secret: str,
             signed: Callable[[bytes], tuple[dict[str, str], bytes]]) -> Prepare:
    """The same requests through ``benchmarks.ceiling``'s inlined check: the least plain
    Python can spend on our rules for this provider."""
    check = factory(secret)

    def prepare(pool: Pool) -> Callable[[], float]:
        requests = [_request(*signed(body)) for body, _ in pool]
        at = time.time()
        assert check(requests[0], at)
        forged = _request(*signed(pool[0][0]))
        assert not check(forged._replace(body=forged.body + b" "), at)

        def run() -> float:
            t0 = time.perf_counter()
            for request in requests:
                check(request, at)
            return time.perf_counter() - t0

        return run

    return prepare


# -- Stripe ----------------------------------------------------------------------------------


def _stripe_signed(body: bytes) -> tuple[dict[str, str], bytes]:
    import stripe

    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), STRIPE_SECRET, timestamp=int(time.time())
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}, body


def _stripe_sdk(pool: Pool) -> Callable[[], float]:
    import stripe

    items = [(body, _stripe_signed(body)[0]["Stripe-Signature"]) for body, _ in pool]
    verify = stripe.WebhookSignature.verify_header
    verify(items[0][0], items[0][1], STRIPE_SECRET, 300)

    def run() -> float:
        t0 = time.perf_counter()
        for body, header in items:
            verify(body, header, STRIPE_SECRET, 300)
        return time.perf_counter() - t0

    return run


# -- Standard Webhooks / Svix -------------------------------------------------------------------


def _std_signed(body: bytes) -> tuple[dict[str, str], bytes]:
    from standardwebhooks.webhooks import Webhook

    when = dt.datetime.fromtimestamp(int(time.time()), dt.timezone.utc)
    msg_id = "msg_" + body[-12:].hex()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(WHSEC).sign(msg_id, when, body.decode()),
        "Content-Type": "application/json",
    }, body


def _sdk_verifier(module: str) -> Prepare:
    def prepare(pool: Pool) -> Callable[[], float]:
        if module == "svix":
            from svix.webhooks import Webhook as SvixWebhook

            webhook: Any = SvixWebhook(WHSEC)
            items = []
            for body, _ in pool:
                headers, _ = _std_signed(body)
                items.append((body, {k.replace("webhook-", "svix-"): v for k, v in headers.items()}))
            verify = webhook.verify
            verify(*items[0])

            def run() -> float:
                t0 = time.perf_counter()
                for body, headers in items:
                    verify(body, headers)
                return time.perf_counter() - t0

            return run
        from standardwebhooks.webhooks import Webhook

        webhook = Webhook(WHSEC)
        items = [(body, _std_signed(body)[0]) for body, _ in pool]
        verify = webhook.verify
        verify(*items[0], json_parse=False)

        def run_std() -> float:
            t0 = time.perf_counter()
            for body, headers in items:
                verify(body, headers, json_parse=False)
            return time.perf_counter() - t0

        return run_std

    return prepare


# -- Slack ------------------------------------------------------------------------------------


def _slack_signed(body: bytes) -> tuple[dict[str, str], bytes]:
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp, body=body)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/json",
    }, body


def _slack_sdk(pool: Pool) -> Callable[[], float]:
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SLACK_SECRET)
    items = []
    for body, _ in pool:
        headers, _ = _slack_signed(body)
        items.append((body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]))
    is_valid = verifier.is_valid
    assert is_valid(*items[0])

    def run() -> float:
        t0 = time.perf_counter()
        for body, timestamp, signature in items:
            is_valid(body, timestamp, signature)
        return time.perf_counter() - t0

    return run


# -- Twilio -----------------------------------------------------------------------------------


def _form(body: bytes) -> bytes:
    """A Twilio-like form of the same size as the JSON body (deterministic per body)."""
    seed = body[-16:].hex()
    params = {
        "AccountSid": "AC" + seed,
        "CallSid": "CA" + seed,
        "From": "+14155550100",
        "To": "+14155550111",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    text = urlencode(params)
    params["Body"] = "x" * max(0, len(body) - len(text) - 6)
    return urlencode(params).encode()


def _twilio_signed(body: bytes) -> tuple[dict[str, str], bytes]:
    from twilio.request_validator import RequestValidator

    form = _form(body)
    params = dict(parse_qsl(form.decode(), keep_blank_values=True))
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(TWILIO_URL, params)
    return {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }, form


def _twilio_sdk(pool: Pool) -> Callable[[], float]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TWILIO_TOKEN)
    items = []
    for body, _ in pool:
        headers, form = _twilio_signed(body)
        params = dict(parse_qsl(form.decode(), keep_blank_values=True))
        items.append((params, headers["X-Twilio-Signature"]))
    validate = validator.validate
    assert validate(TWILIO_URL, *items[0])

    def run() -> float:
        t0 = time.perf_counter()
        for params, signature in items:
            validate(TWILIO_URL, params, signature)
        return time.perf_counter() - t0

    return run


#: (name, target, ours, SDK): ours / SDK must stay under target.
PAIRS: dict[str, tuple[float, dict[str, Prepare]]] = {
    "stripe": (
        0.6,
        {
            "webhook_guard stripe": _ours("stripe", STRIPE_SECRET, _stripe_signed),
            "stripe.WebhookSignature.verify_header": _stripe_sdk,
            "ceiling: inlined (benchmarks.ceiling)": _inlined(
                stripe_inlined, STRIPE_SECRET, _stripe_signed
            ),
        },
    ),
    "standard_webhooks": (
        0.5,
        {
            "webhook_guard standard_webhooks": _ours("standard_webhooks", WHSEC, _std_signed),
            "standardwebhooks.Webhook.verify": _sdk_verifier("standardwebhooks"),
            "svix.webhooks.Webhook.verify": _sdk_verifier("svix"),
        },
    ),
    "slack": (
        1.0,
        {
            "webhook_guard slack": _ours("slack", SLACK_SECRET, _slack_signed),
            "slack_sdk SignatureVerifier.is_valid": _slack_sdk,
            "ceiling: inlined (benchmarks.ceiling)": _inlined(
                slack_inlined, SLACK_SECRET, _slack_signed
            ),
        },
    ),
    "twilio": (
        0.5,
        {
            "webhook_guard twilio": _ours("twilio", TWILIO_TOKEN, _twilio_signed, url=TWILIO_URL),
            "twilio RequestValidator.validate": _twilio_sdk,
        },
    ),
}


def report(name: str, target: float, results: Results) -> str:
    rounds = len(next(iter(results.per_call.values())))
    lines = [
        f"== {name}: verify only, {rounds} rounds x {results.batch} calls ==",
        f"{'case':<44} {'median µs':>10} {'p25':>8} {'p75':>8}",
    ]
    for case, values in results.per_call.items():
        lo, hi = quartiles_us(values)
        lines.append(f"{case:<44} {median_us(values):>10.2f} {lo:>8.2f} {hi:>8.2f}")
    ours, *others = results.per_call
    sdks = [name for name in others if not name.startswith("ceiling")]
    for sdk in sdks:
        lines.append(
            f"  ours / {sdk:<36} {ratio(results, ours, sdk):6.2f}x"
            + (f"   target <= {target:.1f}x" if sdk == sdks[0] else "")
        )
    for ceiling in (name for name in others if name.startswith("ceiling")):
        lines.append(f"  ceiling / {sdks[0]:<33} {ratio(results, ceiling, sdks[0]):6.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.verify_vs_sdk", description=__doc__)
    parser.add_argument("--rounds", type=int, default=21, help="rounds (>= 15)")
    parser.add_argument("--batch", type=int, default=1000, help="calls per case per round")
    parser.add_argument("--only", choices=sorted(PAIRS))
    args = parser.parse_args(argv)
    if args.rounds < 15:
        parser.error("--rounds must be at least 15 (PERFORMANCE.md)")
    print(f"python {platform.python_version()} ({sys.executable}) on {platform.machine()}")
    started = time.perf_counter()
    for name, (target, cases) in PAIRS.items():
        if args.only in (None, name):
            results = interleave(name, cases, rounds=args.rounds, batch=args.batch)
            print()
            print(report(name, target, results))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
