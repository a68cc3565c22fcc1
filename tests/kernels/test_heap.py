"""The priority queue of prioritized sweeping: a max-heap holding each item at most once,
with the highest priority pushed since it was last popped."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dynaq.kernels.heap import new_queue, pop, push, queue_size

N_ITEMS = 12
_op = st.one_of(
    st.tuples(st.just("push"), st.integers(0, N_ITEMS - 1),
              st.floats(0.0, 10.0, allow_nan=False).map(lambda p: round(p, 1))),
    st.tuples(st.just("pop"), st.just(0), st.just(0.0)))


def assert_invariants(heap, prio, pos, expected):
    size = queue_size(heap)
    items = list(heap[1:size + 1])
    assert size == len(expected)
    assert sorted(items) == sorted(expected)  # each queued item exactly once, none lost
    for i, item in enumerate(items, start=1):
        assert pos[item] == i
        assert prio[i] == expected[item]  # the highest priority pushed, never lowered
        if i > 1:
            assert prio[i // 2] >= prio[i]  # heap order
    assert all(pos[item] == 0 for item in range(N_ITEMS) if item not in expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(_op, max_size=80))
def test_queue_matches_a_dictionary_of_highest_priorities(ops):
    heap, prio, pos = new_queue(N_ITEMS)
    expected: dict[int, float] = {}
    for op, item, p in ops:
        if op == "push":
            changed = push(heap, prio, pos, item, p)
            assert changed == (item not in expected or p > expected[item])
            expected[item] = max(p, expected.get(item, p))
        elif expected:
            got, got_p = pop(heap, prio, pos)
            assert got_p == max(expected.values()) == expected.pop(got)
        assert_invariants(heap, prio, pos, expected)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, N_ITEMS - 1), st.floats(0.0, 1.0)), max_size=60))
def test_pops_come_out_in_non_increasing_priority(pushes):
    heap, prio, pos = new_queue(N_ITEMS)
    for item, p in pushes:
        push(heap, prio, pos, item, p)
    out = [pop(heap, prio, pos)[1] for _ in range(queue_size(heap))]
    assert out == sorted(out, reverse=True)
    assert len(out) == len({item for item, _ in pushes})
    assert queue_size(heap) == 0 and not pos.any()


def test_a_lower_push_does_not_overwrite_and_a_higher_one_raises_in_place():
    heap, prio, pos = new_queue(4)
    push(heap, prio, pos, 2, 0.5)
    push(heap, prio, pos, 3, 0.7)
    assert not push(heap, prio, pos, 3, 0.1)
    assert push(heap, prio, pos, 2, 0.9)
    assert queue_size(heap) == 2
    assert [pop(heap, prio, pos) for _ in range(2)] == [(2, 0.9), (3, 0.7)]
    assert np.array_equal(pos, np.zeros(4))
