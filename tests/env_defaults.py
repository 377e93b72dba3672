"""Loaded with -p before Django settings are read: safe defaults for the test run."""
import os

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("FLAKY_FAILURE_RATE", "0")
os.environ.setdefault("FLAKY_MAX_DELAY", "0")
os.environ.setdefault("FLAKY_LOST_REPLY_RATE", "0")
