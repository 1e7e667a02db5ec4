"""Weight sharing inside a network: the weight-sharing-regularization experiment on digits.

A fully connected network trained with weight-sharing regularization (proximal
gradient, :class:`prox.training.WeightSharing`) against the same network without
it and a small CNN, on scikit-learn's 8x8 digits (plain, torus-shifted, pixels
shuffled) and on a synthetic teacher task whose labels ARE a convolution.

Modules, one idea each::

    networks.data       the data sets and their seeded splits
    networks.models     FC (the CNN with the convolution constraint removed) and the CNN
    networks.measures   accuracy, distinct values, convolution-likeness of layer 1
    networks.training   one run: run(config) -> RunResult, with history
    networks.results    save / load result files (JSON, arrays packed)
    networks.table      hyperparameter search on validation, seeds, the Markdown table
    python -m networks  the command line (``run`` and ``table``)

Nothing here is needed by ``prox``; this package only uses it.
"""
from .data import VARIANTS, Dataset, load_dataset
from .measures import conv_likeness, distinct_values_per_layer, unroll_conv
from .models import MODELS, build_model
from .training import RunConfig, RunResult, run

__all__ = [
    "VARIANTS",
    "Dataset",
    "load_dataset",
    "MODELS",
    "build_model",
    "conv_likeness",
    "distinct_values_per_layer",
    "unroll_conv",
    "RunConfig",
    "RunResult",
    "run",
]
