"""The Streamlit demo's logic: inputs, figures and the solver comparison.

``app.py`` only lays out pages and calls these; everything a test needs is here.

* :mod:`demo.inputs`   presets and :func:`~demo.inputs.parse_vector` (paste/upload)
* :mod:`demo.figures`  plotly figures of a :class:`particles.Trajectory`
* :mod:`demo.compare`  every solver of :data:`prox.SOLVERS` on one input; scaling in d
* :mod:`demo.timeline` the Watch tab's time axes, time slider and Play steps
* :mod:`demo.validate` the Validate tab's table of the groups a candidate gets wrong
* :mod:`demo.page`     a failing section of the page becomes a message; wording
"""
from .inputs import MAX_BYTES, MAX_ENTRIES, PRESETS, format_vector, make_preset, parse_vector

__all__ = ["MAX_BYTES", "MAX_ENTRIES", "PRESETS", "format_vector", "make_preset", "parse_vector"]
