"""An agent's compiled functions, gathered: what the run loop (:mod:`dynaq.kernels.run`)
and the step API (:class:`dynaq.agents.TabularAgent`) call. The protocol they follow is
written down in :mod:`dynaq.agents.base`."""

from __future__ import annotations

from typing import Any, NamedTuple

from dynaq.kernels import tabular


class AgentKernels(NamedTuple):
    """An agent's compiled functions (the protocol: :mod:`dynaq.agents.base`). ``observe``
    and ``plan`` serve the step API of :class:`dynaq.agents.TabularAgent` only: an agent
    that only runs in the compiled runner may leave them None; one-step agents keep the
    default ``end_episode``, which does nothing."""

    init: Any
    act: Any
    learn: Any
    diagnose: Any
    end_episode: Any = tabular.end_episode
    observe: Any = None
    plan: Any = None
