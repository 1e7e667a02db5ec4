"""Select the SIMD kernels this machine does NOT pick by itself, for a second test run.

numpy and torch choose AVX2 or AVX-512 kernels at run time, so reductions (and so trained
networks) differ in their last digits between CPUs. CI re-runs the tests whose results
depend on reduction order with the other kernels, so that a committed figure which only
matches one kind of CPU fails here, on one machine:

    eval "$(python .ci/other_kernels.py)"     # export the switches
    python .ci/other_kernels.py --check       # exit 1 unless they took effect

An AVX-512 machine steps down to AVX2 (torch ``ATEN_CPU_CAPABILITY=avx2``; numpy 2.x
``NPY_DISABLE_CPU_FEATURES`` names its dispatch targets above X86_V3); an AVX2 machine
steps down to the baseline (torch ``default``; numpy disables every dispatch target).
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

#: The switch's own environment variable: which torch capability the run should have.
EXPECT = "WS_OTHER_KERNELS"


def _numpy_dispatch() -> tuple[list[str], dict[str, bool]]:
    core = getattr(np, "_core", None) or np.core
    umath = core._multiarray_umath
    return list(umath.__cpu_dispatch__), dict(umath.__cpu_features__)


def switches() -> dict[str, str]:
    """The environment that selects the other kernels on this machine."""
    dispatch, features = _numpy_dispatch()
    if torch.backends.cpu.get_cpu_capability().upper().startswith("AVX512"):
        torch_level, keep = "avx2", ("X86_V3", "AVX2", "FMA3")  # drop what is above X86_V3
    else:
        torch_level, keep = "default", ()
    # Only targets this CPU has: numpy may refuse to disable one it could never use.
    disabled = [name for name in dispatch if features.get(name) and name not in keep]
    return {"ATEN_CPU_CAPABILITY": torch_level,
            "NPY_DISABLE_CPU_FEATURES": " ".join(disabled),
            EXPECT: torch_level}


def check() -> list[str]:
    """What did not take effect in this process (empty: the switch worked)."""
    want = os.environ.get(EXPECT)
    if not want:
        return [f"{EXPECT} is not set: export the output of `python .ci/other_kernels.py` first"]
    problems = []
    got = torch.backends.cpu.get_cpu_capability()
    if got.lower() != want.lower():
        problems.append(f"torch runs {got} kernels, not {want}")
    _, features = _numpy_dispatch()
    for name in os.environ.get("NPY_DISABLE_CPU_FEATURES", "").split():
        if features.get(name):
            problems.append(f"numpy still dispatches to {name}")
    return problems


def main(argv: list[str]) -> int:
    if argv[1:] == ["--check"]:
        problems = check()
        print(f"kernels: torch {torch.backends.cpu.get_cpu_capability()}, numpy without "
              f"{os.environ.get('NPY_DISABLE_CPU_FEATURES', '') or 'nothing'}")
        for problem in problems:
            print("other_kernels:", problem, file=sys.stderr)
        return 1 if problems else 0
    for key, value in switches().items():
        print(f"export {key}='{value}'")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
