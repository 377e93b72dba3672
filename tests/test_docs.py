"""The README and .env.example stay true to the code."""

import re

from django.urls import URLPattern

from orders.api import urls as api_urls
from tests.conftest import ROOT
from tests.test_compose import settings_variables

README = (ROOT / "README.md").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()


def run_stack_variables() -> set[str]:
    source = (ROOT / "orders" / "management" / "commands" / "run_stack.py").read_text()
    return set(re.findall(r'(?:_env_int|os\.environ\.get)\(\s*"([A-Z_]+)"', source))


def readme_api_table() -> set[tuple[str, str]]:
    section = README.split("## REST API", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| (GET|POST) \| `([^`]+)` \|", section, flags=re.MULTILINE))


def routes() -> set[tuple[str, str]]:
    found = set()
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        path = "/" + str(pattern.pattern).replace("<str:pk>", "{id}")
        # DRF adds HEAD to every GET once a view has served a request.
        for method in set(pattern.callback.actions) - {"head"}:
            found.add((method.upper(), path))
    return found


def test_readme_api_table_matches_the_routes():
    assert readme_api_table() == routes()
    assert len(routes()) == 12


def test_every_setting_is_documented():
    variables = settings_variables() | run_stack_variables()
    assert {"DATABASE_URL", "TEMPORAL_ADDRESS", "WEB_PORT"} <= variables
    undocumented = {v for v in variables if f"`{v}`" not in README}
    missing_example = {v for v in variables if not re.search(rf"^#? ?{v}=", ENV_EXAMPLE, flags=re.MULTILINE)}
    assert not undocumented, f"not in the README's configuration table: {undocumented}"
    assert not missing_example, f"not in .env.example: {missing_example}"


def test_readme_names_the_two_commands():
    assert "make run" in README and "make test" in README
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: ", makefile, re.MULTILINE) and re.search(r"^test: ", makefile, re.MULTILINE)
