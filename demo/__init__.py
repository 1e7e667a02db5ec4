"""The Streamlit demo: its logic modules, and the views in :mod:`demo.views`.

``app.py`` only wires the views together; everything a test needs is in a module here.

Logic (no Streamlit):

* :mod:`demo.inputs`        presets and :func:`~demo.inputs.parse_vector` (paste/upload)
* :mod:`demo.animation`     the particles animated in the browser (the player, ``player.js``)
* :mod:`demo.export`        the standalone page: ``python -m demo.export docs/particles.html``
* :mod:`demo.figures`       the colours of groups; the Validate and Compare figures
* :mod:`demo.penalties`     the family (WSR + L1, OSCAR, OWL, GrOWL) as paths and figures
* :mod:`demo.compare`       every solver of :data:`prox.SOLVERS` on one input; scaling in d
* :mod:`demo.timeline`      the time axes' end and the exact step function of the groups
* :mod:`demo.validate`      the Validate tab's table of the groups a candidate gets wrong
* :mod:`demo.train_figures` the Train tab's figures of a saved training run
* :mod:`demo.compression`   the compression view's live run (k values per row) and saved table
* :mod:`demo.page`          a failing section of the page becomes a message; wording

Views (Streamlit): :mod:`demo.views`, one render function per part of the page.
"""
from .inputs import MAX_BYTES, MAX_ENTRIES, PRESETS, format_vector, make_preset, parse_vector

__all__ = ["MAX_BYTES", "MAX_ENTRIES", "PRESETS", "format_vector", "make_preset", "parse_vector"]
