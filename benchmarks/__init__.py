"""On-demand benchmarks for webhook_guard (never part of the test suite).

Run ``python -m benchmarks`` (all in-process parts) or one part:
``python -m benchmarks.inprocess_asgi`` / ``python -m benchmarks.inprocess_wsgi``.
Method: /work/shared/PERFORMANCE.md (interleaved rounds, medians, per-round ratios).
"""
