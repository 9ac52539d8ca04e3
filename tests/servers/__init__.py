"""Small apps that tests/test_servers.py runs under real servers (gunicorn, uvicorn)."""
