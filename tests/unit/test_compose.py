"""docker-compose.yml, checked against the code (no Docker engine runs on the CI machines)."""

import importlib
import json
import re
import runpy
import subprocess

import pytest
import yaml
from django.core.management import get_commands

from orders.temporal.worker import QUEUES
from ordersite.web_threads import async_step_threads
from tests.conftest import ROOT
from workflows.binaries import temporal_cli
from workflows.devserver import DYNAMIC_CONFIG
from workflows.types import MAIN_TASK_QUEUE, SHIPPING_TASK_QUEUE

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {name: s for name, s in SERVICES.items() if s.get("image") == "orders-app:latest"}


def settings_variables() -> set[str]:
    """Every environment variable that ordersite/settings.py reads."""
    return set(re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', (ROOT / "ordersite" / "settings.py").read_text()))


def test_app_services_are_the_expected_ones():
    assert set(APP_SERVICES) == {"migrate", "temporal-setup", "web", "worker-main", "worker-shipping"}
    assert all(s.get("build") == "." for s in APP_SERVICES.values())
    assert {"app-db", "temporal-db", "temporal", "temporal-schema", "temporal-ui"} <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_variable_set_is_one_the_settings_read(name):
    unknown = set(APP_SERVICES[name]["environment"]) - settings_variables()
    assert not unknown, f"{name} sets variables the settings never read: {unknown}"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_commands_exist(name):
    command = APP_SERVICES[name]["command"]
    if command[:2] == ["python", "manage.py"]:
        assert command[2] in get_commands()
    else:
        assert command[:3] == ["gunicorn", "--config", "ordersite/gunicorn.conf.py"]
        module, attribute = web_config()["wsgi_app"].split(":")
        assert callable(getattr(importlib.import_module(module), attribute))


def web_config() -> dict:
    return runpy.run_path(str(ROOT / "ordersite" / "gunicorn.conf.py"))


def test_the_web_tier_is_served_by_the_asgi_worker_everywhere():
    """Compose, the image and `make run` start the same server: the config names the ASGI application."""
    from orders.management.commands.run_stack import web_command

    assert (web_config()["worker_class"], web_config()["wsgi_app"]) == ("asgi", "ordersite.asgi:application")
    assert web_command(bind="127.0.0.1:1", workers=2)[1:5] == ["-m", "gunicorn", "--config", "ordersite/gunicorn.conf.py"]
    assert "ordersite.wsgi" not in (ROOT / "Dockerfile").read_text() + (ROOT / "docker-compose.yml").read_text()


def test_worker_pools_match_the_task_queues():
    env = APP_SERVICES["web"]["environment"]
    assert (env["TEMPORAL_MAIN_TASK_QUEUE"], env["TEMPORAL_SHIPPING_TASK_QUEUE"]) == (MAIN_TASK_QUEUE, SHIPPING_TASK_QUEUE)
    pools = {name: s["command"][s["command"].index("--queue") + 1] for name, s in APP_SERVICES.items() if "run_workers" in s["command"]}
    assert pools == {"worker-main": "main", "worker-shipping": "shipping"}
    assert set(pools.values()) == set(QUEUES)
    # Every app service talks to the same Temporal and database.
    assert len({s["environment"]["TEMPORAL_ADDRESS"] for s in APP_SERVICES.values()}) == 1
    assert len({s["environment"]["DATABASE_URL"] for s in APP_SERVICES.values()}) == 1


def test_healthchecks_and_startup_order():
    for name in ("app-db", "temporal-db", "temporal", "web", "worker-main", "worker-shipping"):
        assert SERVICES[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name, service in SERVICES.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency]
    assert SERVICES["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_mounted_scripts_exist():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        command = service.get("command") or []
        for part in command if isinstance(command, list) else [command]:
            if part.startswith("/deploy/"):
                assert (ROOT / "deploy" / "temporal" / part.removeprefix("/deploy/")).exists()


def test_the_compose_server_reads_its_transfer_queue_as_often_as_the_dev_server():
    """The dev server's dispatch setting (workflows/devserver.py) holds for the compose stack's server too."""
    mounted = SERVICES["temporal"]["environment"]["DYNAMIC_CONFIG_FILE_PATH"].removeprefix("config/dynamicconfig/")
    config = yaml.safe_load((ROOT / "deploy" / "temporal" / "dynamicconfig" / mounted).read_text())
    key = "history.transferProcessorMaxPollRPS"
    assert [entry["value"] for entry in config[key]] == [int(DYNAMIC_CONFIG[key])]


def test_temporal_images_match_the_dev_server_versions():
    version = subprocess.run([temporal_cli(), "--version"], capture_output=True, text=True).stdout
    server, ui = re.search(r"Server ([\d.]+), UI ([\d.]+)", version).groups()
    assert SERVICES["temporal"]["image"] == f"temporalio/server:{server}"
    assert SERVICES["temporal-schema"]["image"] == f"temporalio/admin-tools:{server}"
    assert SERVICES["temporal-ui"]["image"] == f"temporalio/ui:{ui}"


def test_dockerfile_runs_the_same_web_command():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile and "collectstatic" in dockerfile
    command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, flags=re.MULTILINE).group(1))
    assert command == SERVICES["web"]["command"]


def test_one_shot_jobs_retry_and_the_setup_job_waits_for_a_serving_cluster():
    for name in ("temporal-schema", "temporal-setup", "migrate"):
        assert SERVICES[name]["restart"] == "on-failure:5", name
    assert SERVICES["temporal-setup"]["command"] == ["python", "manage.py", "temporal_setup"]
    setup = (ROOT / "orders" / "management" / "commands" / "temporal_setup.py").read_text()
    assert "check_health" in setup and "NOT_FOUND" in setup  # waits for SERVING; creates only what is missing
    for name in ("web", "worker-main", "worker-shipping"):
        assert SERVICES[name]["depends_on"]["temporal-setup"]["condition"] == "service_completed_successfully"
    assert "|| true" not in (ROOT / "deploy" / "temporal" / "setup-schema.sh").read_text()


def test_postgres_healthchecks_use_tcp():
    for name in ("app-db", "temporal-db"):
        assert "pg_isready -h 127.0.0.1" in SERVICES[name]["healthcheck"]["test"][1], name


def test_unauthenticated_ports_are_published_on_this_host_only():
    for name in ("temporal", "temporal-ui"):
        assert all(port.startswith("127.0.0.1:") for port in SERVICES[name]["ports"]), name


def test_secrets_are_required_not_defaulted():
    env = APP_SERVICES["web"]["environment"]
    for name in ("SECRET_KEY", "TEMPORAL_PAYLOAD_KEYS", "TEMPORAL_PAYLOAD_KEY_ID"):
        assert re.fullmatch(r"\$\{%s:\?.+\}" % name, env[name]), env[name]


def test_history_shards_are_set_before_the_first_start():
    assert int(SERVICES["temporal"]["environment"]["NUM_HISTORY_SHARDS"]) >= 512


def test_connection_pools_fit_postgres_max_connections():
    command = SERVICES["app-db"]["command"]
    max_connections = int(command[command.index("-c") + 1].split("=")[1])
    pool = int(APP_SERVICES["web"]["environment"]["DB_POOL_MAX_SIZE"])
    web_processes, threads = 2, 8  # the defaults: WEB_CONCURRENCY processes of WEB_THREADS threads
    assert threads + async_step_threads(threads) <= pool  # a request thread never waits for a connection
    workers = 2 + 10  # one per queue, plus ten more scaled up
    assert web_processes * pool + workers * pool + 5 <= max_connections


def test_healthchecks_fail_when_temporal_is_unreachable():
    assert SERVICES["web"]["healthcheck"]["test"][-1].count("/readyz") == 1
    for name, queue in (("worker-main", "main"), ("worker-shipping", "shipping")):
        assert SERVICES[name]["healthcheck"]["test"] == ["CMD", "python", "manage.py", "worker_health", "--queue", queue]


def test_a_setup_run_while_the_stack_runs_takes_effect_without_a_restart():
    """The compose server's services read a namespace's search attributes from a cache: refreshed within seconds,
    and `manage.py temporal_setup` returns once a query naming every attribute is accepted, so the web and the
    workers (which never cache a missing setup) take orders after it without a restart."""
    from orders.management.commands.temporal_setup import PROBE
    from ordersite.durations import parse_duration_seconds
    from workflows.search_attributes import ALL

    mounted = SERVICES["temporal"]["environment"]["DYNAMIC_CONFIG_FILE_PATH"].removeprefix("config/dynamicconfig/")
    config = yaml.safe_load((ROOT / "deploy" / "temporal" / "dynamicconfig" / mounted).read_text())
    assert parse_duration_seconds(config["system.namespaceCacheRefreshInterval"][0]["value"]) <= 5
    assert config["system.forceSearchAttributesCacheRefreshOnRead"][0]["value"] is False  # a database read per use
    assert all(f"{key.name} = " in PROBE for key in ALL)
    assert "count_workflows(PROBE)" in (ROOT / "orders" / "management" / "commands" / "temporal_setup.py").read_text()
