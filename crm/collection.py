"""Pausing Python's cyclic garbage collector around bulk work.

A routing or intake batch allocates tens of thousands of short-lived dicts and model instances
(explanations, events, candidates). Each allocation burst triggers collections, and the older
generations are walked in full — every lead, rep and cached object the process holds — although
nothing a batch makes is cyclic garbage worth finding mid-batch. Measured on a 1,000-lead
routing batch: a fifth of its time. Reference counting still frees everything at once; cycles
made during the batch are collected after it, when the collector is back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused(enabled: bool = True) -> Iterator[None]:
    """Run the block with the cyclic collector off (nested use keeps it off until the outermost
    block ends). `enabled=False` makes it a no-op, for callers that pause only big batches."""
    if not enabled or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
