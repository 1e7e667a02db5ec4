"""Weight sharing inside a network: the weight-sharing-regularization experiment on digits.

A fully connected network trained with weight-sharing regularization (proximal
gradient, :class:`prox.training.WeightSharing`) against the same network without it,
against the same network with other penalties at the same strengths (the controls that
separate sharing from shrinkage), and against the CNN it contains, on real digits on a
torus (``mnist14``) and on MNIST-1D (``mnist1d``), plain and with pixels shuffled.

Modules, one idea each::

    networks.data       the data sets, their variants and seeded splits: load(data, variant)
    networks.models     the FC network, the CNN it contains, MNIST-1D's reference models
    networks.penalties  the proximal steps: weight sharing and its controls
    networks.measures   accuracy, distinct values, locality and shifted copies of filters
    networks.training   one run: run(config) -> RunResult, with history
    networks.results    save / load result files (JSON, arrays packed)
    networks.table      selection on validation, seeds on test, the sweep, the Markdown
    python -m networks  the command line (``run`` and ``table``)

Nothing here is needed by ``prox``; this package only uses it.
"""
from .data import DATASETS, VARIANTS, Dataset, load
from .training import RunConfig, RunResult, run

__all__ = ["DATASETS", "VARIANTS", "Dataset", "load", "RunConfig", "RunResult", "run"]
