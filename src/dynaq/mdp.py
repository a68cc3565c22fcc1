"""TabularMDP: the one description of tabular dynamics in dynaq.

The Gymnasium env, the compiled runner, value iteration and the ground-truth metrics all read
the same sparse arrays: for each (s, a), a short list of outcomes
``(next_state, probability, reward, terminated)``, exactly what Gymnasium's toy-text envs
expose as ``P[s][a]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dynaq.errors import ConfigError
from dynaq.kernels import values

Outcome = tuple[float, int, float, bool]
"""One entry of ``P[s][a]``: (probability, next state, reward, terminated)."""

_PROB_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite MDP with sparse outcomes per (s, a), validated when built.

    Attributes:
        n_states: Number of states S.
        n_actions: Number of actions A (every action is available in every state).
        offsets: ``int64[S*A + 1]``; the outcomes of (s, a) are the slice
            ``offsets[s*A + a] : offsets[s*A + a + 1]`` of the four arrays below.
        next_state: ``int64`` next state of each outcome.
        prob: ``float64`` probability of each outcome.
        reward: ``float64`` reward of each outcome.
        terminated: ``bool`` whether the outcome ends the episode (bootstraps 0).
        initial: ``float64[S]`` start-state distribution.
        name: A label used in messages and results.
        changes: A layout schedule for a world that changes (Sutton & Barto §8.3): pairs
            ``(t, mdp)``, the dynamics becoming ``mdp``'s after ``t`` real steps (counted
            across episodes), ``t`` increasing. These arrays are the dynamics before the
            first change. Every phase has the same states, actions and start distribution.
    """

    n_states: int
    n_actions: int
    offsets: np.ndarray
    next_state: np.ndarray
    prob: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    initial: np.ndarray
    name: str = "mdp"
    changes: tuple[tuple[int, TabularMDP], ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for attr, dtype in (("offsets", np.int64), ("next_state", np.int64),
                            ("prob", np.float64), ("reward", np.float64),
                            ("terminated", np.bool_), ("initial", np.float64)):
            arr = np.ascontiguousarray(getattr(self, attr), dtype=dtype)
            arr.setflags(write=False)
            object.__setattr__(self, attr, arr)
        self._validate()

    def _validate(self) -> None:
        S, A = self.n_states, self.n_actions
        if S < 1 or A < 1:
            raise ConfigError(f"{self.name}: n_states and n_actions must be >= 1, got {S}, {A}")
        off = self.offsets
        if off.shape != (S * A + 1,) or off[0] != 0 or np.any(np.diff(off) < 1):
            raise ConfigError(
                f"{self.name}: offsets must have length S*A+1 = {S * A + 1}, start at 0 and "
                "give every (state, action) at least one outcome"
            )
        n = int(off[-1])
        for attr in ("next_state", "prob", "reward", "terminated"):
            if getattr(self, attr).shape != (n,):
                raise ConfigError(f"{self.name}: {attr} must have {n} entries (offsets[-1])")
        bad = np.flatnonzero((self.next_state < 0) | (self.next_state >= S))
        if bad.size:
            s, a = self._pair_of(int(bad[0]))
            raise ConfigError(f"{self.name}: next state {self.next_state[bad[0]]} of (s={s}, "
                              f"a={a}) is out of range [0, {S})")
        bad = np.flatnonzero(~(self.prob >= 0) | ~np.isfinite(self.prob))
        if bad.size:
            s, a = self._pair_of(int(bad[0]))
            raise ConfigError(f"{self.name}: probability {self.prob[bad[0]]} of (s={s}, a={a}) "
                              "must be finite and >= 0")
        if not np.all(np.isfinite(self.reward)):
            raise ConfigError(f"{self.name}: rewards must be finite")
        sums = np.add.reduceat(self.prob, off[:-1])
        bad = np.flatnonzero(np.abs(sums - 1.0) > _PROB_TOL)
        if bad.size:
            s, a = divmod(int(bad[0]), A)
            raise ConfigError(f"{self.name}: probabilities of (s={s}, a={a}) sum to "
                              f"{sums[bad[0]]:.12g}, must sum to 1")
        if self.initial.shape != (S,) or np.any(self.initial < 0) or abs(
                self.initial.sum() - 1.0) > _PROB_TOL:
            raise ConfigError(f"{self.name}: initial must be a distribution over {S} states")
        self._validate_changes()

    def _validate_changes(self) -> None:
        object.__setattr__(self, "changes", tuple((t, m) for t, m in self.changes))
        last = 0
        for t, mdp in self.changes:
            if isinstance(t, bool) or not isinstance(t, int | np.integer) or t <= last:
                raise ConfigError(f"{self.name}: change steps must be increasing integers "
                                  f">= 1, got {t!r} after {last}")
            if not isinstance(mdp, TabularMDP) or mdp.changes:
                raise ConfigError(f"{self.name}: each change must be a TabularMDP without "
                                  "changes of its own")
            if (mdp.n_states, mdp.n_actions) != (self.n_states, self.n_actions) or not \
                    np.array_equal(mdp.initial, self.initial):
                raise ConfigError(f"{self.name}: the dynamics after step {t} must have the "
                                  "same states, actions and start distribution")
            last = t

    def _pair_of(self, outcome: int) -> tuple[int, int]:
        """The (state, action) whose outcome list holds outcome index ``outcome``."""
        return divmod(int(np.searchsorted(self.offsets, outcome, side="right") - 1),
                      self.n_actions)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_transitions(cls, P: Mapping[int, Mapping[int, Sequence[Outcome]]] | Sequence[Any],
                         initial: Sequence[float] | np.ndarray, name: str = "mdp") -> TabularMDP:
        """Build from a toy-text style table ``P[s][a] = [(p, s', r, terminated), ...]``.

        Args:
            P: Outcomes per state and action; states and actions are ``0..S-1``, ``0..A-1``.
            initial: Start-state distribution of length S.
            name: A label used in messages and results.

        Raises:
            ConfigError: When the table is ragged, empty or not a distribution.
        """
        S = len(P)
        if S == 0:
            raise ConfigError(f"{name}: P is empty")
        A = len(_entry(P, 0, f"{name}: P has no entry for state 0"))
        offsets, rows = [0], []
        for s in range(S):
            actions = _entry(P, s, f"{name}: P has no entry for state {s}")
            if len(actions) != A:
                raise ConfigError(f"{name}: state {s} has {len(actions)} actions, expected {A}")
            for a in range(A):
                outs = _entry(actions, a, f"{name}: P[{s}] has no entry for action {a}")
                if len(outs) == 0:
                    raise ConfigError(f"{name}: (s={s}, a={a}) has no outcomes")
                for outcome in outs:
                    try:
                        p, s2, r, term = outcome[:4]
                        rows.append((int(s2), float(p), float(r), bool(term)))
                    except (TypeError, ValueError):
                        raise ConfigError(f"{name}: outcome {outcome!r} of (s={s}, a={a}) is not "
                                          "(probability, next state, reward, terminated)"
                                          ) from None
                offsets.append(len(rows))
        nxt, prob, rew, term = zip(*rows, strict=True)
        return cls(S, A, np.array(offsets), np.array(nxt), np.array(prob), np.array(rew),
                   np.array(term), np.asarray(initial, dtype=np.float64), name)

    @classmethod
    def from_gymnasium(cls, env: Any) -> TabularMDP:
        """Read the exact model of a toy-text style env (``env.unwrapped.P``).

        Works for FrozenLake-v1, CliffWalking-v1, Taxi-v4 and every dynaq env.

        Raises:
            ConfigError: When the env has no ``P`` or its spaces are not Discrete.
        """
        base = env.unwrapped
        name = env.spec.id if env.spec is not None else type(base).__name__
        require_discrete(env, "a TabularMDP")
        mdp = getattr(base, "mdp", None)
        if isinstance(mdp, TabularMDP):  # a dynaq env: its whole layout schedule
            return mdp
        if not hasattr(base, "P"):
            raise ConfigError(f"env {name!r} exposes no transition table P, so it has no "
                              "exact model")
        initial = getattr(base, "initial_state_distrib", None)
        if initial is None:
            initial = getattr(base, "isd", None)
        if initial is None:
            raise ConfigError(f"env {name!r} exposes no initial_state_distrib")
        return cls.from_transitions(base.P, np.asarray(initial, dtype=np.float64), name)

    # -- views ---------------------------------------------------------------------------
    def outcomes(self, state: int, action: int) -> list[Outcome]:
        """``P[state][action]`` as a list of (probability, next state, reward, terminated)."""
        lo, hi = self.offsets[state * self.n_actions + action: state * self.n_actions + action + 2]
        return [(float(self.prob[i]), int(self.next_state[i]), float(self.reward[i]),
                 bool(self.terminated[i])) for i in range(lo, hi)]

    def to_transitions(self) -> dict[int, dict[int, list[Outcome]]]:
        """The toy-text ``P`` dict: ``P[s][a] = [(p, s', r, terminated), ...]``."""
        return {s: {a: self.outcomes(s, a) for a in range(self.n_actions)}
                for s in range(self.n_states)}

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(offsets, next_state, prob, reward, terminated)`` for the kernels."""
        return self.offsets, self.next_state, self.prob, self.reward, self.terminated

    def phases(self) -> list[tuple[int, TabularMDP]]:
        """``[(0, dynamics before any change), (t1, mdp1), ...]``.

        A changing world's first phase is built once, so that what it caches (value
        iteration, its reachable states) is solved once, not on every call (each unit of
        seeds asks for its ground truth)."""
        if not self.changes:
            return [(0, self)]
        if "first" not in self._cache:
            self._cache["first"] = TabularMDP(self.n_states, self.n_actions, *self.arrays,
                                              self.initial, self.name)
        return [(0, self._cache["first"]), *self.changes]

    def at(self, step: int) -> TabularMDP:
        """The dynamics in force after ``step`` real steps."""
        return [mdp for t, mdp in self.phases() if t <= step][-1]

    def stacked(self) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Every phase's arrays end to end, for :mod:`dynaq.kernels.run`: ``((offsets,
        next_state, prob, reward, terminated, initial), switch_at)``; phase p's (s, a)
        outcomes start at ``offsets[p*S*A + s*A + a]``."""
        if "stacked" not in self._cache:
            phases = [mdp for _, mdp in self.phases()]
            ends = np.cumsum([0] + [int(m.offsets[-1]) for m in phases[:-1]])
            offsets = np.concatenate([m.offsets[:-1] + e for m, e in zip(phases, ends,
                                                                          strict=True)]
                                     + [[ends[-1] + phases[-1].offsets[-1]]])
            world = (offsets, *(np.concatenate([getattr(m, a) for m in phases]) for a in
                                ("next_state", "prob", "reward", "terminated")), self.initial)
            switch_at = np.array([t for t, _ in self.phases()], dtype=np.int64)
            self._cache["stacked"] = (world, switch_at)
        return self._cache["stacked"]

    @property
    def is_deterministic(self) -> bool:
        """Whether every (s, a) has a single outcome."""
        return int(self.offsets[-1]) == self.n_states * self.n_actions

    def reachable(self) -> np.ndarray:
        """Mask of the states an agent can act in (reached from a start state without the
        episode ending)."""
        if "reachable" not in self._cache:
            self._cache["reachable"] = values.reachable_states(
                self.offsets, self.next_state, self.prob, self.terminated, self.n_actions,
                self.initial)
        return self._cache["reachable"]

    def shortest_episode(self) -> int:
        """Fewest steps in which an episode can end (0: no episode can end)."""
        return int(values.shortest_episode(self.offsets, self.next_state, self.prob,
                                           self.terminated, self.n_actions, self.initial))

    # -- exact solutions -----------------------------------------------------------------
    def value_iteration(self, gamma: float, tol: float = 1e-12,
                        max_iter: int = 1_000_000) -> tuple[np.ndarray, np.ndarray]:
        """Q* and V* by value iteration (Sutton & Barto §4.4); cached per ``gamma``.

        Raises:
            ConfigError: If it does not converge (only possible with ``gamma == 1`` when
                some policy collects reward forever).
        """
        key = f"vi:{gamma!r}:{tol!r}"
        if key not in self._cache:
            Q, V, sweeps = values.value_iteration(*self.arrays, self.n_actions, float(gamma),
                                                  tol, max_iter)
            if sweeps >= max_iter:
                raise ConfigError(f"{self.name}: value iteration did not converge with "
                                  f"gamma={gamma}; use gamma < 1")
            Q.setflags(write=False)
            V.setflags(write=False)
            self._cache[key] = (Q, V)
        return self._cache[key]

    def evaluate_policy(self, policy: np.ndarray, gamma: float, tol: float = 1e-12,
                        max_iter: int = 1_000_000) -> np.ndarray:
        """Exact value of a stochastic policy ``policy[s, a]`` (§4.1), to ``tol``.

        With ``gamma == 1``, states from which the policy never ends the episode get 0, ±inf
        or NaN by the signs of the rewards they can reach (see
        :func:`dynaq.kernels.values.evaluate_states`).
        """
        policy = np.asarray(policy, dtype=np.float64)
        if policy.shape != (self.n_states, self.n_actions):
            raise ConfigError(f"policy must have shape {(self.n_states, self.n_actions)}, "
                              f"got {policy.shape}")
        V = np.zeros(self.n_states)
        values.evaluate_states(*self.arrays, policy, float(gamma), V, tol, max_iter,
                               np.arange(self.n_states))
        return V

    def start_value(self, V: np.ndarray) -> float:
        """Expected value of ``V`` under the start distribution (states that cannot start
        an episode do not count, even with an infinite value)."""
        support = self.initial > 0
        return float(self.initial[support] @ np.asarray(V)[support])


def has_random_outcomes(env: Any) -> bool:
    """Whether ``env`` (a Gymnasium env or a :class:`TabularMDP`) is known to give some
    (s, a) more than one outcome: its exact model (a dynaq world's :class:`TabularMDP`, in
    any phase, or a toy-text ``P``) says so. False for an env without one, which cannot
    tell."""
    world = getattr(env, "unwrapped", env)
    mdp = world if isinstance(world, TabularMDP) else getattr(world, "mdp", None)
    if isinstance(mdp, TabularMDP):
        return any(not phase.is_deterministic for _, phase in mdp.phases())
    table = getattr(world, "P", None)
    try:
        return any(sum(1 for outcome in outcomes if outcome[0] > 0) > 1
                   for row in table.values() for outcomes in row.values())
    except (AttributeError, TypeError, IndexError, KeyError):
        return False  # no P, or one of another shape: nothing is known


def require_discrete(env: Any, user: str) -> None:
    """Check that ``env`` has Discrete observation and action spaces, as ``user`` needs.

    Raises:
        ConfigError: Naming the env, the spaces it has and who needs Discrete ones.
    """
    import gymnasium as gym

    obs, act = env.observation_space, env.action_space
    if not (isinstance(obs, gym.spaces.Discrete) and isinstance(act, gym.spaces.Discrete)):
        name = env.spec.id if getattr(env, "spec", None) is not None else type(env).__name__
        raise ConfigError(f"env {name!r}: {user} needs Discrete observation and action "
                          f"spaces, got {obs} and {act}")


def _entry(table: Any, key: int, message: str) -> Any:
    """``table[key]`` for a dict or a list, or ConfigError(message) when it has none."""
    try:
        return table[key]
    except (KeyError, IndexError, TypeError):
        raise ConfigError(message) from None


def greedy_policy(Q: np.ndarray) -> np.ndarray:
    """The greedy policy of ``Q`` as probabilities, ties split evenly."""
    out = np.empty(Q.shape, dtype=np.float64)
    values.greedy_weights(np.asarray(Q, dtype=np.float64), out, np.arange(out.shape[0]))
    return out
