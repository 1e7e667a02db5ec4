"""One training run: ``run(config) -> RunResult``, with the history the app draws.

Model names (``MODELS``) say the architecture and the proximal penalty on its hidden FC
layers (:mod:`networks.penalties`):

========================  ==============  ===========
name                      architecture    penalty
========================  ==============  ===========
``fc``                    ``fc``          none
``fc_wsr``                ``fc``          ``wsr`` (whole matrix, the paper's)
``fc_wsr_rows``           ``fc``          ``wsr_rows`` (per hidden unit)
``fc_l1``                 ``fc``          ``l1``
``fc_wd``                 ``fc``          ``wd``
``fc_median``             ``fc``          ``median``
``fc_nobn``               ``fc_nobn``     none
``fc_nobn_wsr``           ``fc_nobn``     ``wsr``
``cnn``                   ``cnn``         none
``mlp_ref``, ``cnn_ref``  MNIST-1D's      none; their published recipe (:data:`REFERENCE`)
========================  ==============  ===========

Training: minibatch SGD with momentum 0.9 (or Adam) on the cross-entropy, the learning
rate decayed by a cosine schedule over all steps; after every optimizer step the
penalty's proximal step with ``lam = lr * strength`` on layer 1 and
``lr * strength * strength_ratio`` on layer 2 (``lr`` the current, scheduled learning
rate). On the torus-invariant variants (``shifted``, ``shuffled`` of 2-D data) every
training image is rolled by a fresh random torus shift every epoch (in the natural grid,
then put back in the variant's pixel order), as the seed paper's code augments its
shifted MNIST; validation and test images keep their one fixed shift.

The references train on MNIST-1D's default split (4,000 training signals, the held-out
validation folded back in) with the recipe of the MNIST-1D paper: Adam, lr 0.01,
batch 100, 6,000 steps (150 epochs), no schedule.

Determinism: the run seeds torch with ``config.seed`` (initialisation, dropout and batch
order), turns on ``torch.use_deterministic_algorithms`` and sets the number of torch
threads for its duration (restoring the previous settings after), so the same config
gives the same result, bit for bit, on the same machine and torch build.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from prox import prox_ws

from .data import DATASETS, SHAPES, VARIANTS, load
from .measures import accuracy, distinct_values_per_layer, layer_weights, locality, shifted_copies
from .models import MODELS, build, model_parts
from .penalties import Penalty

__all__ = ["MODELS", "OPTIMIZERS", "REFERENCE", "RunConfig", "RunResult", "run",
           "model_parts"]

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine", "constant")
#: The MNIST-1D paper's recipe for its baselines.
REFERENCE = dict(optimizer="adam", lr=0.01, batch_size=100, epochs=150, schedule="constant",
                 dropout=0.0, augment=False)
#: Filters kept for the app's filter grid (evenly spread over the first layer's units).
SAVED_FILTERS = 32
#: First-layer weights followed as particles (a fixed random subset of the whole layer).
TRACKED_WEIGHTS = 128


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run. ``strength`` is ignored by models without a penalty."""

    data: str = "mnist14"
    variant: str = "shuffled"
    model: str = "fc_wsr"
    strength: float = 0.0
    strength_ratio: float = 1.0
    seed: int = 0
    epochs: int = 15
    lr: float = 0.03
    momentum: float = 0.9
    optimizer: str = "sgd"
    schedule: str = "cosine"
    batch_size: int = 128
    channels: tuple[int, ...] = (2, 4)
    norm: str = "unit"
    dropout: float = 0.4
    augment: bool = True
    data_seed: int = 0
    snapshots: int = 21
    threads: int = 1

    def __post_init__(self):
        if self.data not in DATASETS:
            raise ValueError(f"Invalid data: {self.data!r}; expected one of {DATASETS}")
        if self.variant not in VARIANTS[self.data]:
            raise ValueError(f"Invalid variant: {self.variant!r} for data {self.data!r}; "
                             f"expected one of {VARIANTS[self.data]}")
        architecture, _ = model_parts(self.model)
        if architecture == "cnn_ref" and self.data != "mnist1d":
            raise ValueError(f"Invalid model: 'cnn_ref' is for mnist1d, not {self.data!r}")
        for name in ("strength", "strength_ratio", "lr", "momentum", "dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, float))
                                               and math.isfinite(value) and value >= 0):
                raise ValueError(f"Invalid {name}: {value!r} (must be a finite number >= 0)")
        if self.lr <= 0:
            raise ValueError(f"Invalid lr: {self.lr!r} (must be > 0)")
        if self.dropout >= 1:
            raise ValueError(f"Invalid dropout: {self.dropout!r} (must be < 1)")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Invalid optimizer: {self.optimizer!r}; expected one of "
                             f"{OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Invalid schedule: {self.schedule!r}; expected one of "
                             f"{SCHEDULES}")
        object.__setattr__(self, "channels", tuple(self.channels))
        if not self.channels or any(isinstance(c, bool) or not isinstance(c, int) or c < 1
                                    for c in self.channels):
            raise ValueError(f"Invalid channels: {self.channels!r} (must be ints >= 1)")
        for name in ("epochs", "batch_size", "snapshots", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid {name}: {value!r} (must be an int >= 1)")
        for name in ("seed", "data_seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Invalid {name}: {value!r} (must be an int >= 0)")

    @property
    def architecture(self) -> str:
        return model_parts(self.model)[0]

    @property
    def penalty(self) -> str:
        return model_parts(self.model)[1]

    @property
    def is_reference(self) -> bool:
        return self.model in ("mlp_ref", "cnn_ref")

    @property
    def shape(self) -> tuple[int, ...]:
        return SHAPES[self.data]

    @property
    def label(self) -> str:
        strength = f", strength {self.strength:g}" if self.penalty != "none" else ""
        return f"{self.data}/{self.variant} / {self.model}{strength} / seed {self.seed}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def reference(cls, model: str, **changes) -> "RunConfig":
        """A reference model on MNIST-1D with its published recipe (:data:`REFERENCE`)."""
        return cls(data="mnist1d", variant=changes.pop("variant", "plain"), model=model,
                   **{**REFERENCE, **changes})


@dataclass
class RunResult:
    """Final measures (``metrics``) and per-epoch / per-snapshot arrays (``history``).

    ``history`` keys: ``epoch`` (E,), ``train_acc``, ``val_acc``, ``test_acc``, ``loss``
    (E,), ``distinct`` (E, layers): distinct values per hidden layer after each epoch;
    ``snap_step`` (S,): optimizer steps of the snapshots; ``snap_neuron`` (S, P): one
    hidden unit's incoming weights (unit ``metrics["neuron"]``: of the saved units, the
    one with the largest final norm; natural pixel order); ``snap_layer``
    (S, TRACKED_WEIGHTS): a fixed random subset of all first-layer weights; ``filters``
    (k, P): final filters of ``k`` evenly spread units, natural pixel order;
    ``filter_units`` (k,).
    """

    config: RunConfig
    metrics: dict
    history: dict = field(default_factory=dict)


@contextmanager
def _deterministic(threads: int):
    previous = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.set_num_threads(previous[1])


def _snapshot_steps(total: int, count: int) -> np.ndarray:
    return np.unique(np.linspace(0, total, min(count, total + 1)).round().astype(np.int64))


def _first_layer(model, shape) -> np.ndarray:
    return layer_weights(model, shape)[0]


def run(config: RunConfig, *, progress: bool = False, on_progress=None) -> RunResult:
    """Train one model on one data variant and measure it.

    Parameters
    ----------
    config : RunConfig
    progress : show a tqdm bar over epochs (on stderr).
    on_progress : optional ``callable(fraction_done, message, history)``, called after
        every epoch with the history so far (the app draws the live run with it).

    Cost: ``epochs * ceil(n_train / batch_size)`` steps of the model plus, with a
    penalty, one proximal step of each hidden FC layer per step (O(d log d) for the
    sorting ones, d its weights).
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"Invalid config: expected a RunConfig, got {type(config).__name__}")
    from tqdm.auto import tqdm

    start = time.perf_counter()
    data = load(config.data, config.variant, config.data_seed)
    if config.is_reference:
        x_train, y_train, x_test, y_test = data.default_split()
    else:
        x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    x_val, y_val = data.x_val, data.y_val
    shape = data.shape
    with _deterministic(config.threads):
        torch.manual_seed(config.seed)
        model = build(config.architecture, shape, channels=config.channels,
                      dropout=config.dropout, norm=config.norm)
        generator = torch.Generator().manual_seed(config.seed)
        if config.optimizer == "adam":
            optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        else:
            optimizer = torch.optim.SGD(model.parameters(), lr=config.lr,
                                        momentum=config.momentum)
        n_batches = math.ceil(len(y_train) / config.batch_size)
        total_steps = config.epochs * n_batches
        schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
                    if config.schedule == "cosine" else None)
        fc_weights = ([layer.weight for layer in model.hidden]
                      if config.architecture.startswith("fc") else [])
        penalty = Penalty(config.penalty, fc_weights,
                          [config.strength, config.strength * config.strength_ratio]
                          [:len(fc_weights)])
        augment = config.augment and data.torus_invariant
        shift_maps = torch.from_numpy(data.shift_maps()) if augment else None
        x_flat = x_train.reshape(len(x_train), -1)
        units = model.hidden[0].out_channels * data.n_pixels if config.architecture == "cnn" \
            else model.hidden[0].out_features if config.architecture != "cnn_ref" else 0
        saved_units = np.unique(np.linspace(0, max(units - 1, 0),
                                            min(SAVED_FILTERS, max(units, 1))).astype(int))
        snap_at = set(_snapshot_steps(total_steps, config.snapshots).tolist())
        snaps, snap_steps = [], []
        history = {k: [] for k in ("epoch", "train_acc", "val_acc", "test_acc", "loss",
                                   "distinct")}

        def snapshot(step):
            if step in snap_at and units:
                snap_steps.append(step)
                snaps.append(_first_layer(model, shape).astype(np.float32))

        step = 0
        diverged = False
        snapshot(step)
        bar = tqdm(range(config.epochs), desc=config.label, disable=not progress, leave=False)
        for epoch in bar:
            model.train()
            order = torch.randperm(len(y_train), generator=generator)
            epoch_loss = 0.0
            if augment:  # one fresh torus shift per image and epoch
                shifts = torch.randint(0, len(shift_maps), (len(y_train),), generator=generator)
                x_epoch = torch.gather(x_flat, 1, shift_maps[shifts])
            else:
                x_epoch = x_flat
            for batch in order.split(config.batch_size):
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x_epoch[batch]), y_train[batch])
                if not torch.isfinite(loss):  # diverged (too large an lr): stop, say so
                    diverged = True
                    break
                loss.backward()
                optimizer.step()
                penalty.step(optimizer)  # lam = the current lr * strength
                if schedule is not None:
                    schedule.step()
                epoch_loss += float(loss.detach()) * len(batch)
                step += 1
                snapshot(step)
            if diverged:
                with torch.no_grad():
                    for parameter in model.parameters():
                        torch.nan_to_num_(parameter, nan=0.0, posinf=0.0, neginf=0.0)
            if config.is_reference and epoch + 1 < config.epochs and not diverged:
                continue  # the references are measured once, at the end of their recipe
            history["epoch"].append(epoch + 1)
            history["loss"].append(epoch_loss / len(y_train))
            history["train_acc"].append(accuracy(model, x_train, y_train))
            history["val_acc"].append(accuracy(model, x_val, y_val))
            history["test_acc"].append(accuracy(model, x_test, y_test))
            history["distinct"].append(distinct_values_per_layer(model, shape))
            if diverged:
                break
            bar.set_postfix(val=f"{history['val_acc'][-1]:.3f}")
            if on_progress is not None:
                on_progress((epoch + 1) / config.epochs,
                            f"epoch {epoch + 1}/{config.epochs}: validation accuracy "
                            f"{history['val_acc'][-1]:.3f}", history)
        bar.close()
        isolated = _isolated_prox_ms(fc_weights, config) if penalty.active else 0.0
    seconds = time.perf_counter() - start
    return _measure(config, data, model, history, snap_steps, snaps, saved_units, seconds,
                    penalty, isolated, diverged)


def _isolated_prox_ms(weights, config: RunConfig, repeats: int = 3) -> float:
    """Wall time of one proximal step of the same tensors outside training (ms, best of 3)."""
    lam = config.lr * config.strength * 1e-3  # a late-schedule lam: the work is the sort
    best = math.inf
    for _ in range(repeats):
        copies = [w.detach().clone() for w in weights]
        start = time.perf_counter()
        for w in copies:
            if config.penalty in ("wsr", "wsr_rows"):
                rows = w.reshape(1, -1) if config.penalty == "wsr" else w
                prox_ws(rows, lam)
            else:
                Penalty.apply(config.penalty, w, lam)
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def _measure(config, data, model, history, snap_steps, snaps, saved_units, seconds, penalty,
             isolated_ms, diverged) -> RunResult:
    """Final measures and the arrays kept for the app (natural pixel order)."""
    shape = data.shape
    distinct = history["distinct"][-1]
    layer_sizes = [int(w.size) for w in layer_weights(model, shape)]
    metrics = dict(
        test_acc=history["test_acc"][-1],
        val_acc=history["val_acc"][-1],
        train_acc=history["train_acc"][-1],
        distinct_layer1=distinct[0],
        distinct_layer2=distinct[1] if len(distinct) > 1 else None,
        weights_layer1=layer_sizes[0],
        weights_layer2=layer_sizes[1] if len(layer_sizes) > 1 else None,
        penalty_ms_per_step=penalty.ms_per_step if penalty.active else 0.0,
        isolated_prox_ms=isolated_ms,
        steps=int(snap_steps[-1]) if snap_steps else 0,
        diverged=bool(diverged),
        seconds=seconds,
    )
    history = {k: np.asarray(v) for k, v in history.items()}
    if snaps:
        first = data.unpermute(_first_layer(model, shape))
        channels = config.channels[0] if config.architecture in ("fc", "fc_nobn", "cnn") else 1
        copies = shifted_copies(first, shape, channels if len(first) % channels == 0 else 1)
        local, local_null = locality(first, shape)
        metrics.update(locality=local, locality_null=local_null, shift_score=copies.score,
                       shift_raw=copies.raw, shift_null=copies.null,
                       flat_fraction=copies.flat_fraction)
        snaps = np.stack([data.unpermute(s) for s in snaps])
        norms = np.linalg.norm(first[saved_units] - np.median(first), axis=1)
        neuron = int(saved_units[int(np.argmax(norms))])
        tracked = np.sort(np.random.default_rng(0).choice(
            first.size, min(TRACKED_WEIGHTS, first.size), False))
        metrics["neuron"] = neuron
        history.update(
            snap_step=np.asarray(snap_steps, np.int64),
            snap_neuron=snaps[:, neuron, :],
            snap_layer=snaps.reshape(len(snaps), -1)[:, tracked],
            filters=first[saved_units].astype(np.float32),
            filter_units=saved_units,
        )
    return RunResult(config, metrics, history)

