"""Small helpers for laying out the app's page: failures as messages, and wording.

>>> plural(1, "group"), plural(2, "group"), plural(1_000, "cluster")
('1 group', '2 groups', '1,000 clusters')
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

__all__ = ["plural", "problem_message", "shown_failures"]

_LOG = logging.getLogger(__name__)


def plural(n: int, noun: str) -> str:
    """``n`` and ``noun``, with an ``s`` unless ``n == 1``; thousands separated."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def problem_message(where: str, error: BaseException) -> str:
    """What the page says when ``where`` fails: the error's type and message, no traceback."""
    detail = str(error).strip().splitlines()
    text = detail[0] if detail else "(no message)"
    if len(text) > 300:
        text = text[:297] + "..."
    return (f"{where} could not be shown: {type(error).__name__}: {text}. "
            "The rest of the page still works; change the input or λ to try again.")


@contextmanager
def shown_failures(where: str):
    """Run a section of the page; an exception in it becomes one ``st.error`` message.

    The traceback goes to the server's log, not to the page. Streamlit's own
    control flow (``st.stop``, ``st.rerun``) derives from ``BaseException``
    and passes through untouched.
    """
    try:
        yield
    except Exception as error:  # any failure in one section must not take down the page
        import streamlit as st

        _LOG.exception("%s failed", where)
        st.error(problem_message(where, error))
