"""The project stands on its own: installable, importable from anywhere, self-documented.

* every file in the checkout that git would commit points only to documents inside
  the repository (the maths is in docs/maths.md);
* pyproject.toml declares the distribution, its packages and its dependencies;
* the installed packages import from a directory outside the checkout, without
  PYTHONPATH (true once ``pip install -e .`` or ``pip install .`` has run, as the
  README's commands and CI do);
* prox, the ground floor, never imports the packages built on it; they register
  with it instead (``prox.register_solver``);
* CI runs the README's test command verbatim.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("prox", "particles", "demo", "networks")
# Spelled in pieces so that this file does not match its own search.
OUTSIDE_DOCUMENTS = ("DESIGN" + ".md", "../" + "shared", "/work/" + "shared")


def _checkout_files() -> list[Path]:
    """Files git would commit: tracked ones plus untracked ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # images and other binary files
        return None


def test_no_file_points_outside_the_repository():
    files = _checkout_files()
    assert ROOT / "docs" / "maths.md" in files
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {needle}"
        for path in files
        if (text := _text(path)) is not None
        for needle in OUTSIDE_DOCUMENTS
        if needle in text
    )
    assert offenders == []


def test_no_file_edits_sys_path():
    pattern = re.compile(r"sys\.path\.(insert|append|extend)|^\s*pythonpath\s*=", re.M)
    offenders = sorted(
        str(path.relative_to(ROOT))
        for path in _checkout_files()
        if path.suffix in (".py", ".ipynb", ".toml", ".cfg", ".ini")
        and pattern.search(_text(path) or "")
    )
    assert offenders == []


def test_maths_page_has_the_sections_the_code_cites():
    text = (ROOT / "docs" / "maths.md").read_text()
    headings = set(re.findall(r"^##+ (.+)$", text, re.M))
    cited = set()
    for path in _checkout_files():
        if path.suffix in (".py", ".md", ".ipynb") and path.name != "maths.md":
            text = re.sub(r"\s+", " ", _text(path) or "")  # citations may wrap lines
            cited |= set(re.findall(r"docs/maths\.md\)?,? '([^']+)'", text))
    assert cited, "nothing cites docs/maths.md by section"
    assert cited <= headings, f"cited sections missing from docs/maths.md: {cited - headings}"


def test_pyproject_declares_the_distribution():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    meta = project["project"]
    # "particles" on PyPI is someone else's project (see the README's packaging note).
    assert meta["name"] == "weight-sharing-particles"
    assert meta["requires-python"] == ">=3.10"
    core = {re.split(r"[<>=!~ ;\[]", dep, maxsplit=1)[0]: dep for dep in meta["dependencies"]}
    assert set(core) == {"numpy", "scipy", "numba", "torch", "tqdm"}
    assert core["torch"] == "torch>=2.2"  # any torch build from 2.2 on, never one pinned
    extras = meta["optional-dependencies"]
    assert {"app", "notebooks", "test", "all"} <= set(extras)
    assert any(dep.startswith("streamlit") for dep in extras["app"])
    assert any(dep.startswith("pytest") for dep in extras["test"])
    found = project["tool"]["setuptools"]["packages"]["find"]["include"]
    for package in PACKAGES:
        assert package in found and f"{package}.*" in found
    assert "pythonpath" not in project["tool"]["pytest"]["ini_options"]
    requirements = (ROOT / "requirements.txt").read_text().split("\n")
    assert "-e .[all]" in requirements


def test_packages_import_outside_the_checkout(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    program = (
        "import prox\n"
        "assert 'events' in prox.SOLVERS, 'the prox.plugins entry point was not loaded'\n"
        "import particles, demo\n"
        "print(prox.__file__, particles.__file__, demo.__file__, sep='\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        assert Path(line).name == "__init__.py"


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("path", sorted((ROOT / "prox").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT / "prox")))
def test_prox_does_not_import_the_floors_above(path):
    above = {"particles", "demo", "networks", "app"}
    if (ROOT / "prox" / "training") in path.parents:
        # The training tools sit on the physics: max_values reads the exact strength for
        # k groups off the merge tree (particles), imported at first use.
        above.discard("particles")
    assert _imported_modules(path) & above == set()
    # Nor by import path in a string, as registries do ("package.module:function").
    assert re.search(r"\b(particles|demo|networks)(\.\w+)*:\w", path.read_text()) is None


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Two commands\n.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    app_command, test_command = commands
    assert app_command.startswith("python3 -m venv .venv && ")
    assert app_command.endswith("streamlit run app.py")
    assert test_command.startswith("python3 -m venv .venv && ")
    assert test_command.endswith(".venv/bin/python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci
    assert ".venv/bin/ruff check ." in ci


@pytest.mark.slow
def test_the_wheel_ships_the_browser_player(tmp_path):
    """demo/player.js is data, not a module: the wheel must carry it (package-data)."""
    import shutil
    import zipfile

    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "results", "*.ipynb", "docs"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    [wheel] = (tmp_path / "dist").glob("*.whl")
    assert "demo/player.js" in zipfile.ZipFile(wheel).namelist()


def test_the_plugin_group_is_not_the_name_of_a_module():
    """The entry-point group and the prox.solvers subpackage must not share a name."""
    import importlib.util

    from prox._registry import PLUGIN_GROUP

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert PLUGIN_GROUP in project["project"]["entry-points"]
    assert importlib.util.find_spec(PLUGIN_GROUP) is None
