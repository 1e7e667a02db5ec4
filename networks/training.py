"""One training run: ``run(config) -> RunResult``, with the history the app draws.

Training is minibatch SGD with momentum and a cosine learning-rate schedule on the
cross-entropy loss. Models ``fc_wsr`` / ``fc_wsr_rows`` add weight-sharing
regularization by proximal gradient: after every optimizer step,
:class:`prox.training.WeightSharing` replaces each hidden FC layer's weight matrix by
its prox with ``lam = lr * strength`` (``lr`` the current, scheduled learning rate),
over the whole flattened matrix (``scope="tensor"``, as the paper does) or over each
hidden unit's incoming weights (``scope="rows"``). Biases and the read-out are not
regularized.

Augmentation (``augment=True``, on every variant but ``plain``, whose labels are
invariant under torus shifts): each training image is rolled by a fresh random torus
shift every epoch (in the natural pixel grid, then put back in the variant's pixel
order), as the paper's code augments its shifted MNIST. Validation and test images keep
their one fixed shift.

Determinism: the run seeds torch with ``config.seed`` (initialisation and batch
order), turns on ``torch.use_deterministic_algorithms`` and sets the number of torch
threads for its duration (restoring the previous settings after), so the same config
gives the same result, bit for bit, on the same machine and torch build.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import torch

from prox.training import WeightSharing

from .data import VARIANTS, load_dataset
from .measures import accuracy, conv_likeness, distinct_values_per_layer, locality
from .models import MODELS, build_model, first_layer_weight, sharing_scope

__all__ = ["RunConfig", "RunResult", "run", "dataset_tensors"]

OPTIMIZERS = ("adam", "sgd")
#: Filters kept for the app's filter grid (evenly spread over the first layer's units).
SAVED_FILTERS = 32
#: First-layer weights followed as particles (a fixed random subset of the whole layer).
TRACKED_WEIGHTS = 128


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run. ``strength`` is ignored by models without sharing."""

    variant: str = "shifted"
    model: str = "fc_wsr"
    strength: float = 0.0
    seed: int = 0
    epochs: int = 30
    lr: float = 0.01
    momentum: float = 0.9
    optimizer: str = "adam"
    batch_size: int = 128
    channels: tuple[int, ...] = (8,)
    readout: str = "pool"
    augment: bool = True
    data_seed: int = 0
    snapshots: int = 21
    threads: int = 1

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"Invalid variant: {self.variant!r}; expected one of {VARIANTS}")
        if self.model not in MODELS:
            raise ValueError(f"Invalid model: {self.model!r}; expected one of {MODELS}")
        for name in ("strength", "lr", "momentum"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"Invalid {name}: {value!r} (must be a finite number >= 0)")
        if self.lr <= 0:
            raise ValueError(f"Invalid lr: {self.lr!r} (must be > 0)")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Invalid optimizer: {self.optimizer!r}; expected one of "
                             f"{OPTIMIZERS}")
        for name in ("epochs", "batch_size", "snapshots", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid {name}: {value!r} (must be an int >= 1)")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))

    @property
    def scope(self) -> str | None:
        """The weight-sharing scope of the model (None: trained without sharing)."""
        return sharing_scope(self.model)

    @property
    def label(self) -> str:
        strength = f", strength {self.strength:g}" if self.scope else ""
        return f"{self.variant} / {self.model}{strength} / seed {self.seed}"

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RunResult:
    """Final measures (``metrics``) and per-epoch / per-snapshot arrays (``history``).

    ``history`` keys: ``epoch`` (E,), ``train_acc``, ``val_acc``, ``test_acc``,
    ``loss`` (E,), ``distinct`` (E, layers): distinct values per hidden layer after each
    epoch; ``snap_step`` (S,): optimizer steps of the snapshots; ``snap_neuron`` (S, 64):
    one hidden unit's incoming weights (unit ``metrics["neuron"]``, the one with the
    largest final norm; natural pixel order); ``snap_layer`` (S, TRACKED_WEIGHTS): a
    fixed random subset of all first-layer weights; ``filters`` (k, 64): final filters
    of ``k`` evenly spread units, natural pixel order; ``filter_units`` (k,).
    """

    config: RunConfig
    metrics: dict
    history: dict = field(default_factory=dict)


@lru_cache(maxsize=8)
def dataset_tensors(variant: str, data_seed: int = 0):
    """The splits of a variant as torch tensors (cached; never modified)."""
    data = load_dataset(variant, data_seed=data_seed)
    to = torch.from_numpy
    return data, tuple(to(a.copy()) for a in (data.x_train, data.y_train, data.x_val,
                                              data.y_val, data.x_test, data.y_test))


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


def run(config: RunConfig, *, progress: bool = False, on_progress=None) -> RunResult:
    """Train one model on one data variant and measure it.

    Parameters
    ----------
    config : RunConfig
    progress : show a tqdm bar over epochs (on stderr).
    on_progress : optional ``callable(fraction_done, message)``, called after every epoch
        (the app drives ``st.progress`` with it).

    Cost: ``epochs * ceil(n_train / batch_size)`` steps of the model plus, with sharing,
    one exact prox of each hidden layer per step (O(d log d), d = its weights).
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"Invalid config: expected a RunConfig, got {type(config).__name__}")
    from tqdm.auto import tqdm

    start = time.perf_counter()
    data, (x_train, y_train, x_val, y_val, x_test, y_test) = dataset_tensors(
        config.variant, config.data_seed)
    with _deterministic(config.threads):
        torch.manual_seed(config.seed)
        model = build_model(config.model, channels=config.channels, n_classes=data.n_classes,
                            readout=config.readout)
        generator = torch.Generator().manual_seed(config.seed)
        if config.optimizer == "adam":
            optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        else:
            optimizer = torch.optim.SGD(model.parameters(), lr=config.lr,
                                        momentum=config.momentum)
        n_batches = math.ceil(len(y_train) / config.batch_size)
        total_steps = config.epochs * n_batches
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
        sharing = None
        if config.scope is not None and config.strength > 0:
            sharing = WeightSharing([layer.weight for layer in model.hidden], config.strength,
                                    scope=config.scope)
        shift_maps = torch.from_numpy(data.shift_maps())
        augment = config.augment and data.shift_invariant
        x_flat = x_train.reshape(len(x_train), -1)
        snap_at = set(_snapshot_steps(total_steps, config.snapshots).tolist())
        snaps, snap_steps = [], []
        history = {k: [] for k in ("epoch", "train_acc", "val_acc", "test_acc", "loss",
                                   "distinct")}

        def snapshot(step):
            if step in snap_at:
                snap_steps.append(step)
                snaps.append(first_layer_weight(model).cpu().numpy().astype(np.float32))

        step = 0
        snapshot(step)
        bar = tqdm(range(config.epochs), desc=config.label, disable=not progress, leave=False)
        for epoch in bar:
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
                loss.backward()
                optimizer.step()
                if sharing is not None:
                    sharing.step(optimizer)  # lam = the current lr * strength
                schedule.step()
                epoch_loss += float(loss.detach()) * len(batch)
                step += 1
                snapshot(step)
            history["epoch"].append(epoch + 1)
            history["loss"].append(epoch_loss / len(y_train))
            history["train_acc"].append(accuracy(model, x_train, y_train))
            history["val_acc"].append(accuracy(model, x_val, y_val))
            history["test_acc"].append(accuracy(model, x_test, y_test))
            history["distinct"].append(distinct_values_per_layer(model))
            bar.set_postfix(val=f"{history['val_acc'][-1]:.3f}")
            if on_progress is not None:
                on_progress((epoch + 1) / config.epochs,
                            f"epoch {epoch + 1}/{config.epochs}: validation accuracy "
                            f"{history['val_acc'][-1]:.3f}")
        bar.close()
    return _measure(config, data, model, history, snap_steps, snaps,
                    time.perf_counter() - start)


def _measure(config, data, model, history, snap_steps, snaps, seconds) -> RunResult:
    """Final measures and the arrays kept for the app (natural pixel order)."""
    first = data.unpermute(first_layer_weight(model).cpu().double().numpy())
    score = conv_likeness(first)
    neuron = int(np.argmax(np.linalg.norm(first, axis=1)))
    units = first.shape[0]
    tracked = np.sort(np.random.default_rng(0).choice(first.size, min(TRACKED_WEIGHTS,
                                                                      first.size), False))
    snaps = np.stack([data.unpermute(s) for s in snaps])
    filter_units = np.unique(np.linspace(0, units - 1, min(SAVED_FILTERS, units)).astype(int))
    metrics = dict(
        test_acc=history["test_acc"][-1],
        val_acc=history["val_acc"][-1],
        train_acc=history["train_acc"][-1],
        distinct_layer1=history["distinct"][-1][0],
        distinct_per_unit_layer1=float(np.mean([np.unique(r).size for r in first])),
        conv_score=score.score,
        conv_raw=score.raw,
        conv_baseline=score.baseline,
        conv_score_gaussian=score.gaussian_score,
        flat_fraction=score.flat_fraction,
        locality=locality(first),
        neuron=neuron,
        steps=int(snap_steps[-1]),
        seconds=seconds,
    )
    history = {k: np.asarray(v) for k, v in history.items()}
    history.update(
        snap_step=np.asarray(snap_steps, np.int64),
        snap_neuron=snaps[:, neuron, :],
        snap_layer=snaps.reshape(len(snaps), -1)[:, tracked],
        filters=first[filter_units].astype(np.float32),
        filter_units=filter_units,
    )
    return RunResult(config, metrics, history)

