"""The Streamlit demo's logic: inputs, figures and the solver comparison.

``app.py`` only lays out pages and calls these; everything a test needs is here.

* :mod:`demo.inputs`   presets and :func:`~demo.inputs.parse_vector` (paste/upload)
* :mod:`demo.figures`  plotly figures of a :class:`particles.Trajectory`
* :mod:`demo.compare`  every solver of :data:`prox.SOLVERS` on one input; scaling in d
"""
from .inputs import MAX_BYTES, MAX_ENTRIES, PRESETS, format_vector, make_preset, parse_vector

__all__ = ["MAX_BYTES", "MAX_ENTRIES", "PRESETS", "format_vector", "make_preset", "parse_vector"]
