"""Moved to :mod:`prox.validation`; this name is kept until every import uses that."""
from .validation import *  # noqa: F401,F403
