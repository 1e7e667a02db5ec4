"""The examples in docstrings and the README's API block run and say what they show."""
from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import demo
import particles
import prox

ROOT = Path(__file__).resolve().parents[1]


def _public_modules(package, *, recursive: bool) -> list[str]:
    """The package and its public modules (no part of the dotted name starts with ``_``)."""
    walk = pkgutil.walk_packages if recursive else pkgutil.iter_modules
    names = [info.name if recursive else f"{package.__name__}.{info.name}"
             for info in walk(package.__path__, prefix=f"{package.__name__}." if recursive else "")]
    return [package.__name__] + [name for name in names
                                 if not any(part.startswith("_") for part in name.split("."))]


# Every public module of the libraries and of the demo, subpackages included (prox.solvers,
# prox.owl, particles.backends, demo.views, ...).
MODULES = sorted({*_public_modules(prox, recursive=True),
                  *_public_modules(particles, recursive=True),
                  *_public_modules(demo, recursive=True)})


def test_every_library_module_is_collected():
    # A module moved into a subpackage must not drop out of the doctest run.
    for name in ("prox.owl", "prox.solvers.divide_conquer", "prox.scaling", "particles.owl",
                 "particles.simulation", "particles.backends.time_split", "demo.views.penalty",
                 "demo.views.compression"):
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_readme_api_block_runs():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## The API[^\n]*\n\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    w, u, traj = namespace["w"], namespace["u"], namespace["traj"]
    np.testing.assert_allclose(traj.prox(0.5), u, atol=1e-12)
    assert u.shape == w.shape


def test_readme_gives_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "streamlit run app.py" in text
    assert "python -m pytest" in text
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()


def test_the_demo_package_docstring_lists_every_module():
    root = Path(demo.__file__).parent
    modules = {p.stem for p in root.glob("*.py") if not p.name.startswith("_")}
    listed = set(re.findall(r":mod:`demo\.(\w+)`", demo.__doc__))
    assert modules - listed == set(), f"demo/__init__.py does not list {modules - listed}"
    assert listed - modules - {"views"} == set()
