"""Apps that tests/test_deployment.py and tests/test_path_differential.py run under real servers."""
