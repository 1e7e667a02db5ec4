"""The solver registry: every prox algorithm of every penalty behind one signature.

Penalties (:data:`PENALTIES`): ``"ws"``, the weight-sharing penalty R, whose
strength is a float ``lam >= 0``; ``"owl"``, the OWL family, whose strength is
a weight vector ``theta`` (non-increasing, >= 0, one entry per column). Each has
its own table of solvers (:data:`REGISTRY`); one spec type, one registration
function and one dispatcher (:func:`prox.solve`) serve both.

A solver is a *rows kernel* ``kernel(rows, strength) -> (out, rounds)``:

* ``rows``: 2-D C-contiguous float32/float64 ndarray (``kind="numpy"``) or
  tensor (``kind="torch"``, any device), one problem per row; kernels must not
  write to it (it may be a view of the caller's array; the dispatcher handles
  empty input and rows of length <= 1);
* ``strength``: the validated ``lam`` (a float > 0) or ``theta`` (a float64
  (d,) ndarray);
* ``out``: a new array of the same kind, shape and dtype holding the prox of
  each row;
* ``rounds``: the number of sequential whole-batch steps it took (the
  GPU-free measure of parallel depth), or ``None`` for sequential solvers.

Kernels named by import path (``"package.module:function"``) are imported on
first use, so importing ``prox`` does not import torch. Other packages add
their solvers with :func:`prox.register_solver` when they are imported; prox
itself knows only its own, and imports the packages declared under the
``prox.plugins`` entry-point group (:func:`load_plugins`) only when a name it
does not know is asked for or the whole table is read, so ``import prox``
stays light.
"""
from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "SolverSpec", "SOLVER_SPECS", "REGISTRY", "KINDS", "PENALTIES", "add_spec", "load_plugins",
    "PluginTable",
]

#: The entry-point group under which installed packages declare their solvers.
PLUGIN_GROUP = "prox.plugins"

_plugins = {"loaded": False}


def load_plugins() -> None:
    """Import, once per process, every package declared under :data:`PLUGIN_GROUP`.

    Such packages call :func:`prox.register_solver` when imported. A plugin that
    fails to import gives a RuntimeWarning, never an error: a broken plugin must
    not break prox itself.
    """
    if _plugins["loaded"]:
        return
    _plugins["loaded"] = True  # first, so the plugins' own reads of the tables do not recurse
    from importlib.metadata import entry_points

    for entry in entry_points(group=PLUGIN_GROUP):
        try:
            entry.load()
        except Exception as error:
            warnings.warn(f"prox: the solver plugin {entry.name!r} ({entry.value}) failed to "
                          f"load: {error}", RuntimeWarning, stacklevel=3)


class PluginTable(dict):
    """A dict of solvers that loads the plugins before it answers about a name it lacks.

    A key that is present is read without importing anything; a missing key,
    iteration, ``len`` and the views load the plugins first (:func:`load_plugins`),
    so ``"events" in SOLVERS`` and ``sorted(SOLVERS)`` see every installed solver.
    """

    def __contains__(self, name) -> bool:
        if super().__contains__(name):
            return True
        load_plugins()
        return super().__contains__(name)

    def __getitem__(self, name):
        if not super().__contains__(name):
            load_plugins()
        return super().__getitem__(name)

    def get(self, name, default=None):
        return self[name] if name in self else default

    def __iter__(self):
        load_plugins()
        return super().__iter__()

    def __len__(self) -> int:
        load_plugins()
        return super().__len__()

    def keys(self):
        load_plugins()
        return super().keys()

    def values(self):
        load_plugins()
        return super().values()

    def items(self):
        load_plugins()
        return super().items()

    def __repr__(self) -> str:
        load_plugins()
        return super().__repr__()


#: The array kinds a kernel can take: CPU ndarrays, or torch tensors on any device.
KINDS = ("numpy", "torch")
#: The penalties with solvers: weight sharing (strength ``lam``) and OWL (strength ``theta``).
PENALTIES = ("ws", "owl")


@dataclass(frozen=True)
class SolverSpec:
    """What the dispatcher needs to know about one algorithm.

    ``kernel_ref`` is the rows kernel itself or its ``"package.module:function"``
    import path; :attr:`kernel` resolves it once.
    """

    name: str
    kind: str  # one of KINDS
    kernel_ref: str | Callable
    summary: str
    penalty: str = "ws"  # one of PENALTIES
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Invalid name: {self.name!r} (expected an identifier)")
        if self.name == "auto":
            raise ValueError("Invalid name: 'auto' (reserved for the automatic choice)")
        if self.kind not in KINDS:
            raise ValueError(f"Invalid kind: {self.kind!r}; expected one of 'numpy', 'torch'")
        ref = self.kernel_ref
        if isinstance(ref, str):
            module, sep, attribute = ref.partition(":")
            if not (sep and module and attribute):
                raise ValueError(f"Invalid kernel: {ref!r} (expected 'package.module:function')")
        elif not callable(ref):
            raise TypeError(f"Invalid kernel: {ref!r} (expected a callable or an import path)")
        if not isinstance(self.summary, str) or not self.summary:
            raise ValueError(f"Invalid summary: {self.summary!r} (expected a non-empty string)")
        if self.penalty not in PENALTIES:
            raise ValueError(f"Invalid penalty: {self.penalty!r}; expected one of 'ws', 'owl'")

    @property
    def kernel(self):
        if "kernel" not in self._cache:
            ref = self.kernel_ref
            if isinstance(ref, str):
                module, _, attribute = ref.partition(":")
                ref = getattr(importlib.import_module(module), attribute)
            self._cache["kernel"] = ref
        return self._cache["kernel"]


#: penalty -> (name -> spec of every registered solver, in registration order).
REGISTRY: dict[str, dict[str, SolverSpec]] = {penalty: PluginTable() for penalty in PENALTIES}
#: The weight-sharing solvers' specs (``REGISTRY["ws"]``).
SOLVER_SPECS: dict[str, SolverSpec] = REGISTRY["ws"]


def add_spec(spec: SolverSpec, *, replace: bool = False) -> bool:
    """Register ``spec`` under its penalty and name; return False if that exact spec was there.

    Registering an equal spec again (a module imported twice) changes nothing;
    a different spec under a taken name needs ``replace=True``.
    """
    table = REGISTRY[spec.penalty]
    old = dict.get(table, spec.name)  # what is registered now; no plugin loading
    if old is not None and not replace:
        if old == spec:
            return False
        raise ValueError(
            f"Invalid name: {spec.name!r} is already registered ({old.kernel_ref!r}); "
            "pass replace=True to replace it"
        )
    table[spec.name] = spec
    return True


for _spec in (
    SolverSpec(
        "pava",
        "numpy",
        "prox.solvers.pava:prox_pava_rows",
        "sort + pool adjacent violators (Numba, CPU); work O(d log d), sequential",
    ),
    SolverSpec(
        "parallel_pava",
        "torch",
        "prox.solvers.parallel_pava:prox_parallel_pava_rows",
        "parallel PAVA, all violating runs pooled per round (torch); "
        "rounds O(d) on a cascade",
    ),
    SolverSpec(
        "lower_sets",
        "torch",
        "prox.solvers.lower_sets:prox_lower_sets_rows",
        "minimum lower sets, one final block per step (torch); rounds = blocks",
    ),
    SolverSpec(
        "divide_conquer",
        "torch",
        "prox.solvers.divide_conquer:prox_divide_conquer_rows",
        "divide and conquer over solved halves (torch); depth O(log^3 d), "
        "rounds <= log2(d)(log2(d) + 1) / 2",
    ),
    SolverSpec(
        "pava",
        "numpy",
        "prox.owl.pava:prox_owl_pava_rows",
        "sort |w| + one stack pass of pool adjacent violators (Numba, CPU); "
        "work O(d log d), sequential",
        penalty="owl",
    ),
    SolverSpec(
        "parallel_pava",
        "torch",
        "prox.owl.parallel_pava:prox_owl_parallel_pava_rows",
        "sort |w| + parallel PAVA, every violating run pooled per round (torch); "
        "rounds O(d) worst case",
        penalty="owl",
    ),
):
    add_spec(_spec)
del _spec
