"""Write `.env` for a local run, once (`make run` calls it): DEBUG on, a generated SECRET_KEY and a generated
payload encryption key, so that every command in the README and docs/ works in any new shell. Never overwrites an
existing file; `.env` is never committed. Production sets these variables itself. Standard library only: it
runs before the virtualenv exists."""

import base64
import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


def main() -> int:
    if ENV_FILE.exists():
        return 0
    ENV_FILE.write_text(
        "# Written once by `make run` for this checkout's local stack; never committed. See .env.example.\n"
        "DEBUG=1\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"TEMPORAL_PAYLOAD_KEYS=local:{base64.b64encode(os.urandom(32)).decode()}\n"
        "TEMPORAL_PAYLOAD_KEY_ID=local\n"
    )
    ENV_FILE.chmod(0o600)
    print(f"Wrote {ENV_FILE.name}: DEBUG=1, a new SECRET_KEY and payload encryption key (keep the file: the key reads the history).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
