"""The code's layout holds: the import contracts, request-free services, and an init_app per area."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coaching.config import ROOT

AREAS = ("web", "pages", "blog", "inquiries", "mail", "accounts", "admin", "operations")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
VIEW_MODULES = {"views.py", "admin_views.py", "resume.py", "__init__.py"}
# Request-handling helpers that every page shares; they are the web layer, not services.
REQUEST_LAYER = {"coaching/web/security.py", "coaching/web/errors.py", "coaching/web/templating.py",
                 "coaching/web/paging.py", "coaching/web/forms.py", "coaching/web/page_cache.py",
                 "coaching/web/request_ids.py", "coaching/admin/after_save.py"}


def _lint_imports(project: Path) -> subprocess.CompletedProcess:
    """Run import-linter on a copy of the project (its pyproject.toml contracts), the copy first on the path."""
    if not LINT_IMPORTS.exists():
        pytest.fail(f"import-linter is not installed beside {sys.executable}: run make .venv/.installed-test")
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(project / "pyproject.toml")],
                          cwd=project, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project)},
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def project_copy(tmp_path):
    """The package and its pyproject.toml, copied where a test may break them."""
    shutil.copytree(ROOT / "coaching", tmp_path / "coaching", ignore=shutil.ignore_patterns("__pycache__", "content"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_contracts_hold(project_copy):
    """Do the areas depend on each other only the way pyproject.toml's import-linter contracts allow?"""
    result = _lint_imports(project_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "forbidden", "contract"), [
    ("mail/outbox.py", "from coaching.inquiries import models as _inquiries", "mail, web and admin import no area"),
    ("web/templating.py", "from coaching.blog import queries as _queries", "mail, web and admin import no area"),
    ("pages/views.py", "from coaching.blog import views as _blog_views", "No area imports another area's views"),
    ("blog/editor.py", "from coaching.accounts import admin_views as _views", "Models and services import no views"),
    ("web/paging.py", "from coaching import pages as _pages", "Areas depend one way"),
])
def test_a_forbidden_import_breaks_a_contract(project_copy, module, forbidden, contract):
    """Does import-linter fail, naming the contract, when a module gains an import the layout forbids?"""
    path = project_copy / "coaching" / module
    path.write_text(path.read_text() + f"\n{forbidden}  # added by the test\n")
    result = _lint_imports(project_copy)
    assert result.returncode != 0
    assert "Broken contracts" in result.stdout, result.stdout + result.stderr
    assert contract in result.stdout.split("Broken contracts", 1)[1]


def _service_and_model_files() -> list[Path]:
    """Every module under an area that is neither a view nor a request-layer helper nor a command."""
    files = []
    for area in AREAS:
        for path in sorted((ROOT / "coaching" / area).glob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if path.name in VIEW_MODULES | {"commands.py", "forms.py"} or relative in REQUEST_LAYER:
                continue
            files.append(path)
    return files


def test_services_and_models_never_touch_the_request():
    """Do models and services stay free of flask.request (the views read the request and pass values in)?"""
    files = _service_and_model_files()
    assert len(files) >= 20
    offenders = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in {"flask", "flask.globals"}:
                offenders += [f"{path.relative_to(ROOT)}: {alias.name}" for alias in node.names
                              if alias.name in {"request", "session", "g"}]
    assert offenders == []


@pytest.mark.parametrize("area", AREAS)
def test_every_area_registers_itself_with_init_app(area):
    """Does each area package say what it owns and register its own views and commands with init_app(app)?"""
    package = importlib.import_module(f"coaching.{area}")
    assert callable(getattr(package, "init_app", None))
    assert package.__doc__ and len(package.__doc__.split()) >= 5


def test_no_module_is_over_400_lines():
    """Is every module under coaching/ (migrations aside) at most about 400 lines?"""
    long = {path.relative_to(ROOT).as_posix(): length
            for path in (ROOT / "coaching").rglob("*.py") if "migrations" not in path.parts
            for length in [len(path.read_text().splitlines())] if length > 410}
    assert long == {}
