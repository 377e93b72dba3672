"""Which failures of a step's own writes are worth retrying.

A write that failed because the database was away (connection lost, restarting, out of resources, a lock or
serialization conflict) will succeed later: it is retried, so an outage only delays the order. A write that the
database refused for its data (too long, a NUL byte, a broken constraint) fails the same way every time: retrying
it only wedges the order, so it is reported at once and the workflow compensates.
"""

import decimal
from typing import Optional

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import DataError, IntegrityError

# SQLSTATE classes (PostgreSQL appendix A) of failures that go away: connection exception, transaction rollback
# (serialization failure, deadlock), insufficient resources, operator intervention (shutdown, crash recovery).
TRANSIENT_CLASSES = {"08", "40", "53", "57"}
# Data exception and integrity constraint violation: the same row fails the same way again.
DETERMINISTIC_CLASSES = {"22", "23"}
# A repeat of a step whose event is already written: the retry finds it and answers as the first call did.
EVENT_KEY_CONSTRAINT = "events_key_key"

DETERMINISTIC_TYPES = (DataError, IntegrityError, ValidationError, ObjectDoesNotExist, ValueError, TypeError,
                       LookupError, decimal.InvalidOperation)


def _sqlstate(exc: BaseException) -> tuple[Optional[str], Optional[str]]:
    cause = exc.__cause__ or exc
    diag = getattr(cause, "diag", None)
    return getattr(cause, "sqlstate", None), getattr(diag, "constraint_name", None)


def deterministic(exc: BaseException) -> bool:
    """True when the same call would fail the same way again."""
    sqlstate, constraint = _sqlstate(exc)
    if sqlstate:
        if constraint == EVENT_KEY_CONSTRAINT:
            return False
        return sqlstate[:2] in DETERMINISTIC_CLASSES
    return isinstance(exc, DETERMINISTIC_TYPES)


def explain(exc: BaseException) -> str:
    """The refusal in words for the order's reason and the operator: the database's own first line."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"the database refused the order's data ({text})" if _sqlstate(exc)[0] or isinstance(exc, (DataError, IntegrityError)) else text
