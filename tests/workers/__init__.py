"""Apps that tests/test_workers.py runs under real servers with one or several workers."""
