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
import prox

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    f"{package.__name__}.{info.name}"
    for package in (prox, demo)
    for info in pkgutil.iter_modules(package.__path__)
    if not info.name.startswith("_")
)


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
