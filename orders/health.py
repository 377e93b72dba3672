"""Liveness and readiness probes."""

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from orders.temporal import readiness


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def database_check() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return {"ok": False, "detail": f"database unreachable: {exc}".strip()}
    if pending:
        return {"ok": False, "detail": f"{len(pending)} migrations not applied"}
    return {"ok": True, "detail": "reachable, migrations applied"}


def temporal_check() -> dict:
    return readiness.check()


@require_GET
def readyz(request):
    checks = {"database": database_check(), "temporal": temporal_check()}
    ready = all(c["ok"] for c in checks.values())
    response = JsonResponse({"status": "ready" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(settings.API_RETRY_AFTER_SECONDS)
    return response

