"""Class 1 of the battery: the step API of every tabular agent and of the models refuses a
state or an action out of range with one ConfigError line naming the argument and its range,
and learns nothing from it.

Compiled code indexes arrays with these values unchecked, so a missing check can crash the
interpreter: every case runs in a subprocess, the cases of one agent or model batched into
one process (one result line each), and a crash fails the cases with its signal instead of
killing pytest.
"""

import json
import signal

import numpy as np
import pytest
from battery import python

from dynaq.agents import AGENTS
from dynaq.models import MODELS

S, A = 5, 4
STATES = (S, -1, 10**6, 2**63, np.int64(-1), np.int64(10**6), 2.0, True, None, "1")
ACTIONS = (A, 9, -1, -2**63, np.int32(-1), 1.0, True, None)

AGENT_CALLS = [  # (the call, "{}" for the bad value; the argument it names; its values)
    ("agent.act({})", "state", STATES),
    ("agent.observe({}, 0, 1.0, 1, False)", "state", STATES),
    ("agent.observe(0, {}, 1.0, 1, False)", "action", ACTIONS),
    ("agent.observe(0, 0, 1.0, {}, False)", "next_state", STATES),
    ("agent.end_episode({}, True)", "state", STATES),
]
MODEL_CALLS = [
    ("model.update({}, 0, 1.0, 1, False)", "state", STATES),
    ("model.update(0, {}, 1.0, 1, False)", "action", ACTIONS),
    ("model.update(0, 0, 1.0, {}, False)", "next_state", STATES),
    ("model.predict({}, 0)", "state", STATES),
    ("model.predict(0, {})", "action", ACTIONS),
    ("({}, 0) in model", "state", STATES),
]
COUNTS_CALLS = [
    ("model.distribution({}, 0)", "state", STATES),
    ("model.predict({}, 0, rng.make_state(0))", "state", STATES),
]
CRASH_PRONE = [  # (target, the call, the argument, its values): compiled code indexed these
    ("agent dyna-q+", "agent.tau({}, 0)", "state", (-1, 10**6)),
    ("agent dyna-q+", "agent.tau(0, {})", "action", (9,)),
    *((f"model {name}", "model.plan_from(Q, 5, 0.1, 0.9, rng.make_state(0), 'latest', "
       "pair={})", "pair", (10**9, -1)) for name in MODELS),
    *((f"model {name}", "model.plan_from(Q, 5, 0.1, 0.9, rng.make_state(0), 'trajectory', "
       "state={}, epsilon=0.1)", "state", (10**9, -1)) for name in MODELS),
]
OTHER_CALLS = [  # (the call on a target; what its one line must say)
    ("agent.observe(0, 0, float('nan'), 1, False)", "reward must be a finite number, got nan"),
    ("agent.observe(0, 0, 'x', 1, False)", "reward must be a finite number, got 'x'"),
    ("agent.observe(0, 0, None, 1, False)", "reward must be a finite number, got None"),
]
MODEL_OTHER_CALLS = [
    ("model.update(0, 0, float('inf'), 1, False)", "reward must be a finite number, got inf"),
    ("model.plan(np.zeros((3, 3)), 5, 0.1, 0.9, rng.make_state(0))",
     f"Q must be a writeable C-contiguous float64 array of shape ({S}, {A}), got float64 (3, 3)"),
    (f"model.plan(np.zeros(({S}, {A}), np.float32), 5, 0.1, 0.9, rng.make_state(0))",
     "Q must be a writeable C-contiguous float64 array"),
    (f"model.plan(np.zeros(({A}, {S})).T, 5, 0.1, 0.9, rng.make_state(0))",
     "Q must be a writeable C-contiguous float64 array"),
    ("model.plan(Q, -1, 0.1, 0.9, rng.make_state(0))", "steps must be an integer in [0, "),
    ("model.plan(Q, 10**12, 0.1, 0.9, rng.make_state(0))", "steps must be an integer <= "),
    ("model.plan(Q, 5, 0.0, 0.9, rng.make_state(0))", "alpha must be in (0, 1]"),
    ("model.plan(Q, 5, 0.1, 0.9, np.zeros(2, np.uint64))", "rng must be a random state"),
    ("model.plan(Q, 5, 0.1, 0.9, None)", "rng must be a random state"),
    ("model.plan_from(Q, 5, 0.1, 0.9, rng.make_state(0), 'nope')", "sampling must be one of"),
    ("model.plan_from(Q, 5, 0.1, 0.9, rng.make_state(0), 'latest', pair=7)",
     "pair must be a seen pair (state * n_actions + action), got 7, never tried"),
    ("type(model)(-1, 4)", "n_states must be an integer >= 1, got -1"),
    ("type(model)(2.5, 4)", "n_states must be an integer >= 1, got 2.5"),
    ("type(model)(5, 0)", "n_actions must be an integer >= 1, got 0"),
]

SETUP = {
    **{f"agent {name}": f"agent = AGENTS[{name!r}]({S}, {A}, seed=0)" for name in AGENTS},
    **{f"model {name}": f"model = MODELS[{name!r}]({S}, {A})\n"
                        f"model.update(0, 0, 1.0, 1, False)\n"  # planning needs a pair seen
                        f"Q = np.zeros(({S}, {A}))" for name in MODELS},
}
LEARNED = {"agent": "(agent.Q.tobytes(), agent.t, agent.backups)",
           "model": "(len(model), model.table.tobytes())"}
"""What a refused call must leave as it was."""

SNIPPET = """\
import json
import numpy as np
from dynaq import rng
from dynaq.agents import AGENTS
from dynaq.errors import ConfigError
from dynaq.models import MODELS
{setup}
for call in {calls!r}:
    before = {learned}
    try:
        eval(call)
    except Exception as err:
        result = [type(err) is ConfigError, type(err).__name__, str(err)]
    else:
        result = [False, "no exception", ""]
    print("CASE", json.dumps([call, *result, {learned} == before]), flush=True)
"""


def param(target, call, arg, value, batch="indices", marks=()):
    code = call.format(repr(value))
    return pytest.param(target, batch, code, arg, value, marks=marks, id=f"{target}: {code}")


def params(target, calls):
    return [param(target, call, arg, value) for call, arg, values in calls for value in values]


PARAMS = [
    *(p for name in AGENTS for p in params(f"agent {name}", AGENT_CALLS)),
    *(p for name in MODELS for p in params(f"model {name}", MODEL_CALLS)),
    *params("model counts", COUNTS_CALLS),
    # Each call that crashed once in a process of its own, so that one crash hides no other.
    *(param(target, call, arg, value, batch=call.format(repr(value)))
      for target, call, arg, values in CRASH_PRONE for value in values),
]
OTHER = [  # (target, "other", the call, what the line says)
    *(pytest.param(f"agent {name}", "other", call, says, id=f"agent {name}: {call}")
      for name in AGENTS for call, says in OTHER_CALLS),
    *(pytest.param(f"model {name}", "other", call, says, id=f"model {name}: {call}")
      for name in MODELS for call, says in MODEL_OTHER_CALLS),
]


@pytest.fixture(scope="module")
def run_batch(tmp_path_factory):
    """``(outcome, {call: result})`` of a batch of calls on one target, run once."""
    done = {}

    def run(target, batch):
        if (target, batch) not in done:
            calls = [p.values[2] for p in (*PARAMS, *OTHER) if p.values[:2] == (target, batch)]
            code = SNIPPET.format(setup=SETUP[target], calls=calls,
                                  learned=LEARNED[target.split()[0]])
            outcome = python(code, tmp_path_factory.mktemp("step_api"))
            results = {case[0]: case[1:] for case in (
                json.loads(line.removeprefix("CASE ")) for line in outcome.out.splitlines()
                if line.startswith("CASE "))}
            done[target, batch] = outcome, results
        return done[target, batch]

    return run


@pytest.mark.parametrize("target, batch, call, arg, value", PARAMS)
def test_a_bad_index_is_refused_in_one_line(run_batch, target, batch, call, arg, value):
    outcome, results = run_batch(target, batch)
    died = f"signal {signal.Signals(-outcome.rc).name}" if outcome.rc < 0 else outcome.rc
    assert outcome.rc == 0, f"the process died ({died}): {outcome.err[:1500]}"
    is_config_error, kind, message, unchanged = results[call]
    assert is_config_error, (kind, message)
    assert "\n" not in message, message
    top = S * A - 1 if arg == "pair" else (A if arg == "action" else S) - 1
    assert message.startswith(f"{arg} must be an integer in [0, {top}]"), message
    assert message.endswith(f"got {value!r}"), message
    assert unchanged, "the refused call changed what was learned"


@pytest.mark.parametrize("target, batch, call, says", OTHER)
def test_other_bad_arguments_are_refused_in_one_line(run_batch, target, batch, call, says):
    outcome, results = run_batch(target, batch)
    assert outcome.rc == 0, f"the process died ({outcome.rc}): {outcome.err[:1500]}"
    is_config_error, kind, message, unchanged = results[call]
    assert is_config_error, (kind, message)
    assert "\n" not in message and says in message, message
    assert unchanged, "the refused call changed what was learned"
