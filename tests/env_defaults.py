"""Loaded with -p before Django settings are read: safe defaults for the test run."""
import os

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("FLAKY_FAILURE_RATE", "0")
os.environ.setdefault("FLAKY_MAX_DELAY", "0")
os.environ.setdefault("FLAKY_LOST_REPLY_RATE", "0")
# Plain HTTP in tests (production's HTTPS-only settings: tests/unit/test_security.py).
os.environ.setdefault("HTTPS_ONLY", "0")
# Every end-to-end order's payloads are encrypted, as in a real deployment (tests/unit/test_codec.py).
os.environ.setdefault("TEMPORAL_PAYLOAD_KEYS", "test:dGVzdC1rZXktb2YtdGhpcnR5LXR3by1ieXRlcyEhISE=")
os.environ.setdefault("TEMPORAL_PAYLOAD_KEY_ID", "test")
