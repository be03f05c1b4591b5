"""A function run in a background thread at the lowest CPU priority, for work that may overlap
the rollout (the discriminator update): it takes only the CPU the rollout leaves idle.

The thread keeps torch at one intra-op thread (the rollout's setting) so it never starts a team
of threads beside the physics workers. ``result()`` waits for the function and re-raises its
exception in the caller.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import torch

T = TypeVar("T")

#: Niceness of the background thread (Linux: per thread; 19 = run only when a core is idle).
NICENESS = 19


def lower_thread_priority(niceness: int = NICENESS) -> bool:
    """Raise the calling thread's niceness (Linux); False where the OS does not allow it."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):
        return False
    return True


class BackgroundJob(Generic[T]):
    """Run ``fn()`` now in a daemon thread; ``result()`` joins it."""

    def __init__(self, fn: Callable[[], T], name: str = "background-job") -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], T]) -> None:
        try:
            lower_thread_priority()
            torch.set_num_threads(1)
            self._value = fn()
        except BaseException as e:  # noqa: BLE001 (re-raised in the caller by result())
            self._error = e

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
