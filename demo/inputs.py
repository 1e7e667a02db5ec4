"""Input vectors for the demo: presets, and parsing what users paste or upload.

Everything here returns a 1-D float64 ndarray or raises ``ValueError`` with a
message written for the page (the app shows it in ``st.error`` as is).
"""
from __future__ import annotations

import io
import re

import numpy as np

__all__ = [
    "MAX_ENTRIES",
    "MAX_BYTES",
    "PRESETS",
    "make_preset",
    "parse_vector",
    "format_vector",
    "example_candidate",
]

#: Largest vector accepted from a paste or an upload.
MAX_ENTRIES = 1_000_000
#: Largest paste or upload accepted, in bytes (20 MB).
MAX_BYTES = 20 * 1024 * 1024

_SEPARATORS = re.compile(r"[\s,;]+")
# A comma between two digits ("1,5"): a decimal comma, if ';' or a tab separates the numbers.
_DIGIT_COMMA_DIGIT = re.compile(r"\d,\d")


def _random_normal(d: int, seed: int, lam: float) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=d)


def _uniform(d: int, seed: int, lam: float) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=d)


def _clusters(d: int, seed: int, lam: float) -> np.ndarray:
    """Four tight, well separated groups: the prox finds them early."""
    rng = np.random.default_rng(seed)
    centres = np.array([-3.0, -1.0, 1.0, 3.0])
    return centres[rng.integers(0, centres.size, size=d)] + 0.05 * rng.normal(size=d)


def _cascade(d: int, seed: int, lam: float) -> np.ndarray:
    """The worst case of parallel PAVA: one cluster absorbs its neighbours one by one."""
    from prox.worst_cases import cascade

    return np.asarray(cascade(d, lam=lam if lam > 0 else 1.0), dtype=np.float64)


#: name -> generator(d, seed, lam) of a 1-D float64 vector.
PRESETS = {
    "Random normal": _random_normal,
    "Uniform on [-1, 1]": _uniform,
    "Well-separated clusters": _clusters,
    "Cascade (worst case)": _cascade,
}


def make_preset(name: str, d: int, *, seed: int = 0, lam: float = 1.0) -> np.ndarray:
    """The preset vector ``name`` of length ``d`` (``seed`` for the random ones).

    ``lam`` is only used by the cascade, which is built to cascade at that strength.
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    d = int(d)
    if not 1 <= d <= MAX_ENTRIES:
        raise ValueError(f"d must be between 1 and {MAX_ENTRIES:,}, got {d}")
    w = np.asarray(PRESETS[name](d, int(seed), float(lam)), dtype=np.float64).ravel()
    return w


def _suffix(filename: str | None) -> str:
    if not filename or "." not in filename:
        return ""
    return filename.rsplit(".", 1)[1].lower()


def _check_decimal_commas(text: str) -> None:
    """Refuse ``1,5;2,5``: with ';' or tabs between numbers, "1,5" reads as one and a half."""
    comma = _DIGIT_COMMA_DIGIT.search(text)
    if comma and (";" in text or "\t" in text):
        example = comma.group(0)
        raise ValueError(
            f"Ambiguous decimal comma: the numbers are separated by ';' or tabs and {example!r} "
            "has a comma between digits, which could be one number (a decimal comma) or two. "
            "Write decimals with a point (1.5; 2.5) or separate the numbers with commas only."
        )


def _text_shape(text: str) -> tuple[int, int]:
    """(lines holding numbers, most numbers on one line) of a text file."""
    counts = [len([t for t in _SEPARATORS.split(line.strip()) if t]) for line in text.splitlines()]
    counts = [c for c in counts if c]
    return len(counts), max(counts, default=0)


def _from_text(text: str) -> np.ndarray:
    _check_decimal_commas(text)
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    if len(tokens) > MAX_ENTRIES:
        raise ValueError(
            f"Too many numbers: {len(tokens):,} entries; the limit is {MAX_ENTRIES:,}."
        )
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        for position, token in enumerate(tokens, start=1):
            try:
                float(token)
            except ValueError:
                shown = token if len(token) <= 30 else token[:27] + "..."
                raise ValueError(
                    f"Could not read entry {position} ({shown!r}) as a number. "
                    "Separate numbers with commas, spaces or new lines."
                ) from None
        raise


def _from_npy(data: bytes) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"This .npy file could not be read ({error}).") from None
    if isinstance(array, np.lib.npyio.NpzFile):  # pragma: no cover - .npz named .npy
        raise ValueError("This is an .npz archive; upload a single array saved with np.save.")
    return array


def _from_pt(data: bytes) -> np.ndarray:
    import torch

    try:
        obj = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as error:  # corrupt archives, pickles refused by weights_only, ...
        raise ValueError(
            f"This .pt file could not be loaded as a plain tensor ({type(error).__name__}); "
            "save one tensor with torch.save(tensor, path)."
        ) from None
    if not isinstance(obj, torch.Tensor):
        raise ValueError(
            f"The .pt file holds a {type(obj).__name__}, not a tensor; "
            "save one tensor with torch.save(tensor, path)."
        )
    if obj.is_complex() or obj.dtype == torch.bool:
        raise ValueError(f"The tensor has dtype {obj.dtype}; expected real numbers.")
    return obj.detach().to(torch.float64).cpu().numpy()


def _check_one_vector(shape: tuple[int, ...]) -> None:
    """One message for every 2-D (or higher) input, whatever its format."""
    if sum(n > 1 for n in shape) > 1:
        raise ValueError(
            f"Expected one vector (a single row or column of numbers), got a "
            f"{' x '.join(map(str, shape))} table. Upload one row or column, or flatten it "
            "first (numpy: w.ravel())."
        )


def _as_vector(array: np.ndarray, min_entries: int) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"Expected real numbers, got data of dtype {array.dtype}.")
    if array.size == 0:
        raise ValueError("The input is empty: no numbers found.")
    if array.size < min_entries:
        raise ValueError(f"Need at least {min_entries} numbers, got {array.size}.")
    if array.size > MAX_ENTRIES:
        raise ValueError(f"Too many numbers: {array.size:,} entries; the limit is {MAX_ENTRIES:,}.")
    _check_one_vector(array.shape)
    vector = array.astype(np.float64).ravel()
    bad = ~np.isfinite(vector)
    if bad.any():
        raise ValueError(
            f"The input has {int(bad.sum()):,} NaN or infinite entries "
            f"(the first at position {int(np.argmax(bad)) + 1}); all entries must be finite."
        )
    return vector


def parse_vector(
    data: bytes | str, filename: str | None = None, *, min_entries: int = 1
) -> np.ndarray:
    """Read a user's vector from pasted text or an uploaded file.

    Parameters
    ----------
    data : bytes or str
        Pasted text, or the raw bytes of an upload.
    filename : str, optional
        The upload's name; its suffix picks the format: ``.npy`` (``np.save``),
        ``.pt`` (one tensor, loaded with ``weights_only=True``), anything else
        (``.csv``, ``.txt``) is text with numbers separated by commas,
        semicolons, spaces or new lines. Without a name, ``data`` is pasted
        text: a list of numbers however it is wrapped. A FILE's lines are rows,
        so a file with several lines of several numbers is a table and is
        refused with the same message as a 2-D ``.npy`` or ``.pt`` (one row or
        one column is a vector). ``1,5;2,5`` (semicolons or tabs between
        numbers and a comma between digits: a decimal comma?) is refused as
        ambiguous rather than read as four numbers.
    min_entries : int, keyword-only
        Fewest numbers accepted (the particle picture needs 2).

    Returns
    -------
    ndarray of float64, shape (d,)

    Raises
    ------
    ValueError
        With a message for the user: too large (more than ``MAX_BYTES`` or
        ``MAX_ENTRIES``), unreadable, not numbers, not one vector, ambiguous
        decimal commas, NaN/inf, empty.

    Examples
    --------
    >>> parse_vector("1, 2.5; -3")
    array([ 1. ,  2.5, -3. ])
    >>> try:
    ...     parse_vector(b"1,2\\n3,4", "w.csv")  # a file's lines are rows: a 2 x 2 table
    ... except ValueError as error:
    ...     print(str(error)[:55])
    Expected one vector (a single row or column of numbers)
    """
    size = len(data)
    if size > MAX_BYTES:
        raise ValueError(
            f"The input is {size / 1024**2:.1f} MB; the limit is {MAX_BYTES / 1024**2:.0f} MB."
        )
    suffix = _suffix(filename)
    if suffix == "npy":
        raw = data.encode() if isinstance(data, str) else data
        return _as_vector(_from_npy(raw), min_entries)
    if suffix == "pt":
        raw = data.encode() if isinstance(data, str) else data
        return _as_vector(_from_pt(raw), min_entries)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(
                "The file is not text; upload .csv/.txt numbers, a .npy array or a .pt tensor."
            ) from None
    if filename is not None:  # a file's lines are rows: a table is not a vector
        rows, columns = _text_shape(data)
        if rows > 1:
            _check_one_vector((rows, columns))
    return _as_vector(_from_text(data), min_entries)


def format_vector(x: np.ndarray, *, digits: int = 10) -> str:
    """``x`` as comma-separated text that :func:`parse_vector` reads back."""
    return ", ".join(f"{v:.{digits}g}" for v in np.asarray(x, dtype=np.float64).ravel())


def example_candidate(w, lam: float, *, seed: int = 0) -> np.ndarray:
    """A nearly right answer to check: the exact prox with a few entries nudged.

    For the Validate page's example: nudges up to three weights by about 1% of
    the spread of ``w``, which splits their groups and may reverse an order.
    """
    from prox import prox_ws

    w = np.asarray(w, dtype=np.float64)
    out = np.array(prox_ws(w, lam), dtype=np.float64)
    rng = np.random.default_rng(seed)
    spread = float(np.ptp(w)) if w.size else 0.0
    picks = rng.choice(w.size, size=min(3, w.size), replace=False)
    out[picks] += 0.01 * (spread or 1.0) * rng.choice([-1.0, 1.0], size=picks.size)
    return out
