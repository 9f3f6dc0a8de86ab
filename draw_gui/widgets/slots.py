"""Slots that name a widget without keeping it alive."""
from __future__ import annotations

import weakref
from collections.abc import Callable


def weakly(method: Callable) -> Callable:
    """`method` (bound) as a callable that does not keep its object alive: for slots that name the
    window. Qt holds a callable connected to a widget's signal for the widget's whole life, so a
    lambda holding the window makes a cycle gc cannot see, and a closed window is never freed."""
    ref = weakref.WeakMethod(method)

    def call(*args, **kwargs):
        m = ref()
        return None if m is None else m(*args, **kwargs)
    return call
