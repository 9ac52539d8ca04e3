"""Apps that tests/test_multiprocess.py runs under multi-worker servers (gunicorn, uvicorn)."""
