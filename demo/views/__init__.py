"""The app's views: one render function per part of the page, called by ``app.py``.

* :func:`render_sidebar`  the weights, λ and the penalty (returns a :class:`Selection`)
* :func:`render_watch`    the Watch tab: the particles of the chosen penalty at every time
* :func:`render_compare`  the Compare tab: every solver on this input; scaling in d
* :func:`render_validate` the Validate tab: a prox computed elsewhere against the exact one
* :func:`render_train`    the Train tab: weight sharing inside a network
* :func:`render_compression` the Train tab's second part: k shared values against
  clustering and sparsity

Views only declare widgets and lay out what the logic modules of :mod:`demo`
compute; :mod:`demo.views.common` holds what they share (the cached simulation).
"""
from .compare import render_compare
from .compression import render_compression
from .sidebar import Selection, render_sidebar
from .train import render_train
from .validate import render_validate
from .watch import render_watch

__all__ = ["Selection", "render_sidebar", "render_watch", "render_compare", "render_validate",
           "render_train", "render_compression"]
