"""Sort rows with their permutation, faster than ``numpy.argsort``: the public entry points.

Each value's order-preserving bit pattern and its index are packed into one
``uint64`` key and the keys are radix-sorted, so one integer sort gives both
the sorted values and the permutation (how, and what it costs: the private
implementation module ``prox.solvers._sort_keys``). The prox solvers and the particle
simulation sort through here, so the package has one sort path.

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
