"""Sort rows with their permutation, faster than ``numpy.argsort``: the public entry points.

Each value's order-preserving bit pattern and its index are packed into one
``uint64`` key and the keys are radix-sorted, so one integer sort gives both
the sorted values and the permutation (how, and what it costs: the private
implementation module ``prox.solvers._sort_keys``). Every NumPy sort of weights
or times in the package goes through here: the Numba solvers (weight sharing and
OWL), the event simulations and the time split's event log. Tensors are
sorted by ``torch.sort`` on their device; only the tests' independent
reference (``prox.owl.prox_owl_reference``) uses ``numpy.argsort``, on purpose.

    sort_with_order(rows) -> (order, xs)     int64 permutation, float64 sorted values
    sorted_keys(rows)     -> (keys, bits)    the sorted packed keys themselves
    sort_plan(value_bits) -> dict            which sort this machine uses (timed once)

>>> import numpy as np
>>> order, xs = sort_with_order(np.array([[3.0, -1.0, 2.0]]))
>>> order.tolist(), xs.tolist()
([[1, 2, 0]], [[-1.0, 2.0, 3.0]])
"""
from .solvers._sort_keys import sort_plan, sort_with_order, sorted_keys

__all__ = ["sort_with_order", "sorted_keys", "sort_plan"]
