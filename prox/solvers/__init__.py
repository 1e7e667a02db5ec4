"""The kernels behind ``prox_ws`` and ``prox_owl``: one algorithm per module.

Each module holds a rows kernel ``kernel(rows, lam) -> (out, rounds)`` (the
contract in :mod:`prox._registry`) and the helpers only it needs; the public
functions that validate, convert and dispatch live one level up
(:mod:`prox.dispatch`), the maths in docs/maths.md.

    pava             sort + pool adjacent violators (Numba, CPU)
    parallel_pava    every violating run pooled per round (torch)
    lower_sets       minimum lower sets, one final block per step (torch)
    divide_conquer   merge of solved halves, depth O(log^3 d) (torch)
    torch_blocks     the whole-tensor block operations the torch kernels share
    _sort_keys       sort with permutation through packed uint64 keys (public
                     entry points: :mod:`prox.sort_keys`)
"""
