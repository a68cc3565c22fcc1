"""The priority queue of prioritized sweeping (Sutton & Barto §8.4, "PQueue"), compiled: a
binary max-heap on plain arrays with a position index.

Items are integers ``0 .. n-1`` (a pair (s, a) as ``s*A + a``). The queue is three arrays,
``(heap, prio, pos)``:

- ``heap[1 .. size]``: the queued items, 1-based so that the parent of slot ``i`` is
  ``i // 2``; ``heap[0]`` holds ``size``;
- ``prio[i]``: the priority of the item in slot ``i``;
- ``pos[item]``: its slot, 0 when it is not queued.

The position index is what keeps each item in the queue at most once: a push of an item
already queued raises its priority in place instead of adding a second entry, and never
lowers it (the book's box keeps the highest priority pending for a pair). Both are the
classic bugs of queue-based sweeping: duplicate entries back the same pair up several
times for one change, and overwriting a priority downwards delays the largest pending
change. Push and pop are O(log size), and inlined into their callers: a compiled call
with three arrays costs a reference-count round trip for each.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def new_queue(n_items):
    """An empty queue for items ``0 .. n_items-1``: ``(heap, prio, pos)``."""
    return (np.zeros(n_items + 1, np.int64), np.zeros(n_items + 1),
            np.zeros(n_items, np.int64))


@njit(cache=True, inline="always")
def queue_size(heap):
    """How many items are queued."""
    return heap[0]


@njit(cache=True, inline="always")
def push(heap, prio, pos, item, priority):
    """Queue ``item`` with ``priority``, or raise its priority to ``priority`` if it is
    queued with a lower one. A lower or equal priority for a queued item changes nothing.

    Returns:
        Whether the queue changed.
    """
    i = pos[item]
    if i == 0:
        i = heap[0] + 1
        heap[0] = i
        heap[i] = item
    elif priority <= prio[i]:
        return False
    prio[i] = priority
    _sift_up(heap, prio, pos, i)
    return True


@njit(cache=True, inline="always")
def pop(heap, prio, pos):
    """Remove the item of highest priority (the queue must not be empty).

    Returns:
        ``(item, priority)``.
    """
    item, priority = heap[1], prio[1]
    size = heap[0]
    pos[item] = 0
    heap[0] = size - 1
    if size > 1:
        heap[1], prio[1] = heap[size], prio[size]
        _sift_down(heap, prio, pos, 1, size - 1)
    return item, priority


@njit(cache=True, inline="always")
def _sift_up(heap, prio, pos, i):
    """Move the entry of slot ``i`` up to its place, updating ``pos`` on the way."""
    item, priority = heap[i], prio[i]
    while i > 1 and prio[i // 2] < priority:
        heap[i], prio[i] = heap[i // 2], prio[i // 2]
        pos[heap[i]] = i
        i //= 2
    heap[i], prio[i] = item, priority
    pos[item] = i


@njit(cache=True, inline="always")
def _sift_down(heap, prio, pos, i, size):
    """Move the entry of slot ``i`` down to its place among slots ``1 .. size``."""
    item, priority = heap[i], prio[i]
    while 2 * i <= size:
        child = 2 * i
        if child < size and prio[child + 1] > prio[child]:
            child += 1
        if prio[child] <= priority:
            break
        heap[i], prio[i] = heap[child], prio[child]
        pos[heap[i]] = i
        i = child
    heap[i], prio[i] = item, priority
    pos[item] = i
