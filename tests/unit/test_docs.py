"""The README, docs/, CHANGELOG.md and .env.example stay true to the code: every setting documented, the API table
against the routes, every link and every path they name resolving, every release of the patches and the recorded
histories in the changelog, and a README short enough to read."""

import re
import subprocess
from pathlib import Path

from django.urls import URLPattern

from orders.api import urls as api_urls
from tests.conftest import ROOT
from tests.unit.test_compose import settings_variables

README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
CHANGELOG = (ROOT / "CHANGELOG.md").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
README_MAX_LINES = 300
EXPECTED_DOCS = {
    "setup", "architecture", "configuration", "api", "review-desk", "operations", "reliability", "troubleshooting",
    "performance", "testing",
}
# Read by the code, but not ours to document: the process's own and Django's.
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE", "HOME", "PATH", "LANG"}
# Where a path written in a document may point: the tracked top-level folders.
PATH_ROOTS = ("orders", "ordersite", "workflows", "tests", "bench", "deploy", "docs", "templates")


def documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]


def run_stack_variables() -> set[str]:
    source = (ROOT / "orders" / "management" / "commands" / "run_stack.py").read_text()
    return set(re.findall(r'(?:_env_int|os\.environ\.get)\(\s*"([A-Z_]+)"', source))


def code_variables() -> set[str]:
    """Every environment variable any of our Python files reads by name."""
    found = set()
    for path in [*ROOT.glob("*.py"), *(p for d in PATH_ROOTS for p in (ROOT / d).rglob("*.py"))]:
        found |= set(re.findall(r'(?:os\.environ\.(?:get|setdefault)|os\.getenv|_env_int|env\.\w+)\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    return found - NOT_SETTINGS


def api_table() -> set[tuple[str, str]]:
    return set(re.findall(r"^\| (GET|POST) \| `([^`]+)` \|", (DOCS / "api.md").read_text(), flags=re.MULTILINE))


def routes() -> set[tuple[str, str]]:
    found = set()
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        path = "/" + str(pattern.pattern).replace("<str:pk>", "{id}")
        # DRF adds HEAD to every GET once a view has served a request.
        for method in set(pattern.callback.actions) - {"head"}:
            found.add((method.upper(), path))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), flags=re.MULTILINE)}


def links(path: Path) -> list[str]:
    """The targets of the document's Markdown links that are not web addresses."""
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", path.read_text()) if not re.match(r"[a-z]+:", t)]


def test_the_api_table_matches_the_routes():
    assert api_table() == routes()
    assert len(routes()) == 13


def test_every_setting_is_documented():
    variables = settings_variables() | run_stack_variables()
    assert {"DATABASE_URL", "TEMPORAL_ADDRESS", "WEB_PORT"} <= variables
    configuration = (DOCS / "configuration.md").read_text()
    undocumented = {v for v in variables | code_variables() if f"`{v}`" not in configuration}
    missing_example = {v for v in variables if not re.search(rf"^#? ?{v}=", ENV_EXAMPLE, flags=re.MULTILINE)}
    assert not undocumented, f"not in docs/configuration.md: {undocumented}"
    assert not missing_example, f"not in .env.example: {missing_example}"


def test_the_readme_is_short_and_names_the_two_commands():
    assert len(README.splitlines()) <= README_MAX_LINES
    assert "make run" in README and "make test" in README
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: ", makefile, re.MULTILINE) and re.search(r"^test: ", makefile, re.MULTILINE)


def test_the_readme_leads_to_every_document():
    assert {p.stem for p in DOCS.glob("*.md")} >= EXPECTED_DOCS
    linked = {target.split("#")[0] for target in links(ROOT / "README.md")}
    assert {f"docs/{p.name}" for p in DOCS.glob("*.md")} | {"CHANGELOG.md"} <= linked


def test_every_link_resolves():
    broken = []
    for document in documents():
        for target in links(document):
            name, _, anchor = target.partition("#")
            resolved = (document.parent / name).resolve() if name else document
            if not resolved.exists() or (anchor and anchor not in anchors(resolved)):
                broken.append(f"{document.relative_to(ROOT)}: {target}")
    assert broken == []


def test_every_path_the_documents_name_exists():
    """Paths in backticks (`orders/temporal/`, `tests/workflows/test_replay.py`) and test files named alone."""
    missing = []
    test_files = {p.name for p in (ROOT / "tests").rglob("test_*.py")}
    for document in documents():
        for quoted in re.findall(r"`([^`\s]+)`", document.read_text()):
            if re.fullmatch(rf"(?:{'|'.join(PATH_ROOTS)})/[\w./-]*", quoted) and not (ROOT / quoted).exists():
                missing.append(f"{document.relative_to(ROOT)}: {quoted}")
            elif re.fullmatch(r"test_\w+\.py", quoted) and quoted not in test_files:
                missing.append(f"{document.relative_to(ROOT)}: {quoted}")
    assert missing == []


def test_the_changelog_names_every_release_and_its_patches():
    releases = {p.name for p in (ROOT / "tests" / "histories").iterdir() if p.is_dir()}
    sections = dict(re.findall(r"^## (release-\d+)\b(.*?)(?=^## |\Z)", CHANGELOG, flags=re.MULTILINE | re.DOTALL))
    assert set(sections) == releases
    source = (ROOT / "workflows" / "patches.py").read_text()
    patches = re.findall(r'^# (release-\d+):.*?^[A-Z0-9_]+ = "([^"]+)"', source, flags=re.MULTILINE | re.DOTALL)
    assert len(patches) == len(re.findall(r'^[A-Z0-9_]+ = "', source, flags=re.MULTILINE)) > 0
    misplaced = [(release, patch) for release, patch in patches if f"`{patch}`" not in sections.get(release, "")]
    assert misplaced == []


def test_the_code_points_at_documents_that_exist():
    """Comments and docstrings name a document by its path (docs/api.md), never a README section that moved."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    wrong = []
    for name in listed:
        path = ROOT / name
        if path.suffix in (".md", ".json") or name.startswith("tests/unit/test_docs") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        wrong += [f"{name}: {ref}" for ref in re.findall(r"docs/[\w-]+\.md", text) if not (ROOT / ref).exists()]
        wrong += [f"{name}: {ref}" for ref in re.findall(r"README(?:'s)? \"[^\"]+\"", text)]
    assert wrong == []
