"""Leaving a process that used the Temporal SDK.

The SDK's native (Rust) threads can call into Python while the interpreter finalizes, which aborts the process
("PyGILState_Release: thread state ... must be current", temporalio/sdk-python#300) and turns a clean exit into
SIGABRT. Commands that talk to Temporal therefore end with os._exit once their work is done and their output is
flushed.
"""

import os
import sys

from django.core.management.base import BaseCommand
from django.db import connections

from ordersite import tracing


class TemporalCommand(BaseCommand):
    def run_from_argv(self, argv):
        code = 0
        try:
            super().run_from_argv(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            tracing.flush()
            connections.close_all()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
