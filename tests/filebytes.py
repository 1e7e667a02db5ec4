"""Bytes of the files a user uploads, made in memory for the app's tests."""
from __future__ import annotations

import io

import numpy as np


def npy_bytes(array) -> bytes:
    """The content of a .npy file holding ``array``."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def pt_bytes(obj) -> bytes:
    """The content of a torch .pt file holding ``obj``."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()
