"""What the Validate tab shows about a :class:`prox.ProxCheck`: its groups that differ, as a table.

>>> import numpy as np
>>> from prox import check_prox
>>> report = check_prox(np.array([0.0, 1.0, 10.0, 11.0]), 2.0, np.full(4, 5.5))
>>> differing_groups_table(report)[["group", "weights", "problem", "indices"]]
   group  weights          problem indices
0      0        2  merged, shifted    0, 1
1      1        2  merged, shifted    2, 3
"""
from __future__ import annotations

import pandas as pd

__all__ = ["COLUMNS", "MAX_ROWS", "MAX_INDICES", "differing_groups_table"]

#: Most groups listed.
MAX_ROWS = 500
#: Most indices listed per group (then "...").
MAX_INDICES = 10
COLUMNS = ["group", "weights", "exact value", "your min − exact", "your max − exact", "problem",
           "indices"]


def differing_groups_table(report, *, max_rows: int = MAX_ROWS,
                           max_indices: int = MAX_INDICES) -> pd.DataFrame:
    """One row per group of the exact prox that the candidate gets wrong (the first ``max_rows``).

    Columns :data:`COLUMNS`: the group's number, its size, the exact value (as a
    string with 17 significant digits, so two values that differ never print the
    same), how far the candidate's smallest and largest value on it lie from it,
    what is wrong (``split``, ``merged``, ``shifted``) and its first
    ``max_indices`` weight indices.
    """
    rows = []
    for g in report.differing_groups[:max_rows]:
        shown = ", ".join(map(str, g.indices[:max_indices]))
        rows.append({
            "group": g.group,
            "weights": int(g.indices.size),
            "exact value": f"{g.exact_value:.17g}",
            "your min − exact": g.candidate_min - g.exact_value,
            "your max − exact": g.candidate_max - g.exact_value,
            "problem": ", ".join(g.reasons),
            "indices": shown + (" ..." if g.indices.size > max_indices else ""),
        })
    return pd.DataFrame(rows, columns=COLUMNS)
