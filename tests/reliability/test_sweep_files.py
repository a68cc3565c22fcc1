"""Class 4 of the battery: files that are not what they claim.

A sweep file (``dynaq sweep FILE``) and an experiment file (``config.toml``,
``Experiment.from_toml``) are read as UTF-8 TOML of bounded size and checked key by key with
the command line's rules; a file that names nothing to run is refused. Every case: one
ConfigError line naming the file and the key, and (through the command) exit 2 and no
output directory.
"""

import math

import pytest
from battery import assert_cli_error, assert_config_error, assert_main_error, cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynaq import ConfigError
from dynaq.cli import main
from dynaq.experiments.config import Experiment, RunConfig
from dynaq.experiments.sweep import keys, load_sweep
from dynaq.limits import MAX_RUNS, MAX_SEEDS

ENV = 'env = "dynaq/DynaMaze-v0"\n'


def write(tmp_path, content, name="sweep.toml"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


SWEEP_CASES = [
    # the file is not UTF-8 TOML
    (b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)), "not UTF-8 text"),
    (f"[fixed]\n{ENV}".encode("utf-16"), "not UTF-8 text"),
    ("[fixed\n", "Expected ']'"),
    ("fixed = 3\n", "sweep.toml:1: fixed must be a table"),
    # unknown keys
    ("seeds = 3\nbogus = 1\n", "sweep.toml:2: unknown key 'bogus'"),
    ("[fixed]\nenvv = 'x'\n", "sweep.toml:2: unknown key fixed.envv; allowed: env, "),
    (f"[fixed]\n{ENV}batch_size = 32\n", "sweep.toml:3: unknown key fixed.batch_size"),
    # wrong types: a string is not a boolean, a number or a list
    (f"[fixed]\n{ENV}until_near_optimal = \"no\"\n",
     "sweep.toml:3: until_near_optimal must be true or false, got 'no'"),
    (f"[fixed]\n{ENV}until_near_optimal = 1\n", "until_near_optimal must be true or false"),
    (f"[fixed]\n{ENV}episodes = '5'\n", "sweep.toml:3: episodes must be an integer in [1, "),
    (f"[fixed]\n{ENV}alpha = '0.1'\n", "sweep.toml:3: alpha must be in (0, 1], got '0.1'"),
    (f"[fixed]\n{ENV}planning_steps = 5.0\n", "planning_steps must be an integer in [0, "),
    ("[fixed]\nenv = ['dynaq/DynaMaze-v0']\n", "sweep.toml:2: env must be a Gymnasium id"),
    (f"[fixed]\n{ENV}agent = ['dyna-q']\n", "sweep.toml:3: agent must be one of"),
    (f"[fixed]\n{ENV}planning_steps = [5, 10]\n", "sweep.toml:3: planning_steps must be an"),
    (f"[fixed]\n{ENV}model = {{ a = 1 }}\n", "sweep.toml:3: model must be one of"),
    ("name = 3\n", "sweep.toml:1: name must be a non-empty string"),
    # values out of range
    ("[sweep]\nplanning_steps = [0, -5]\n", "sweep.toml:2: planning_steps must be an integer"),
    ("[sweep]\nalpha = [0.1, 2.0]\n", "sweep.toml:2: alpha must be in (0, 1], got 2.0"),
    (f"[fixed]\n{ENV}alpha = nan\n", "alpha must be in (0, 1], got nan"),
    ("seeds = 0\n", "sweep.toml:1: seeds must be an integer in [1, "),
    (f"seeds = {10**12}\n", "sweep.toml:1: seeds must be an integer <= 100_000"),
    (f"[fixed]\n{ENV}planning_steps = {2**63 - 1}\n", "planning_steps must be an integer <="),
    (f"[fixed]\n{ENV}episodes = {10**15}\n", "episodes must be an integer <= 1_000_000_000"),
    # lists: empty, not a list, a value twice (as on the command line)
    ("[sweep]\nalpha = []\n", "sweep.toml:2: sweep.alpha must be a non-empty list"),
    ("[sweep]\nalpha = 0.5\n", "sweep.toml:2: sweep.alpha must be a non-empty list"),
    (f"[fixed]\n{ENV}[sweep]\nplanning_steps = [5, 5]\n",
     "sweep.toml:4: sweep.planning_steps lists 5 more than once"),
    (f"[fixed]\n{ENV}[sweep]\nalpha = [0.1, 0.10]\n", "sweep.alpha lists 0.1 more than once"),
    (f"[fixed]\n{ENV}[sweep]\nalpha = [0.5, 5e-1]\n", "sweep.alpha lists 0.5 more than once"),
    ("[fixed]\nalpha = 0.1\n[sweep]\nalpha = [0.2]\n", "alpha is both fixed and swept"),
    # more combinations than an experiment may have
    (f"[fixed]\n{ENV}[sweep]\n" + "".join(
        f"{k} = {[round(0.04 * (i + 1), 2) for i in range(24)]}\n"
        for k in ("alpha", "epsilon", "gamma")), "makes 13_824 combinations; an experiment"),
    # settings that do not apply, agents that do not exist
    ("[fixed]\nagent = 'dyna-q'\nkappa = 0.5\n", "kappa does not apply to agent dyna-q"),
    ("[fixed]\nagent = 'nosuch_mod:A'\n",
     "sweep.toml:2: agent nosuch_mod:A: cannot import module nosuch_mod"),
    # nothing to run
    ("", "sweep.toml: names no env to run"),
    ("name = 'x'\nseeds = 3\n", "sweep.toml: names no env to run"),
    ("[fixed]\nepisodes = 5\n", "sweep.toml: names no env to run"),
    ("[sweep]\nplanning_steps = [0, 5]\n", "sweep.toml: names no env to run"),
]


@pytest.mark.parametrize("content, message", SWEEP_CASES)
def test_bad_sweep_files_get_one_line(tmp_path, content, message):
    with pytest.raises(ConfigError) as err:
        load_sweep(write(tmp_path, content))
    assert_config_error(err, message)


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nope.toml", "sweep file {d}/nope.toml: no such file"),
    (lambda d: d, "sweep file {d}: not a regular file"),
    (lambda d: d.parent / "dev-zero", "not a regular file"),
    (lambda d: write(d, b"#" * (16 * 2**20 + 1), "huge.toml"), "larger than 16 MiB"),
])
def test_paths_that_are_no_sweep_file(tmp_path, make, message):
    zero = tmp_path.parent / "dev-zero"
    if not zero.exists():
        zero.symlink_to("/dev/zero")  # read whole, it would never end
    with pytest.raises(ConfigError) as err:
        load_sweep(make(tmp_path))
    assert_config_error(err, message.format(d=tmp_path))


def test_a_swept_env_names_something_to_run(tmp_path):
    exp = load_sweep(write(tmp_path, "[sweep]\nenv = ['dynaq/DynaMaze-v0', 'FrozenLake-v1']\n"))
    assert [r.env for r in exp.runs] == ["dynaq/DynaMaze-v0", "FrozenLake-v1"]


def test_the_command_refuses_a_bad_file_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    path = write(tmp_path, f"[fixed]\n{ENV}[sweep]\nplanning_steps = [5, 5]\n")
    assert_main_error(capsys, main(["sweep", str(path), "--out", str(out)]),
                      "sweep.planning_steps lists 5 more than once")
    assert not out.exists()


def test_the_real_command_on_a_binary_file(tmp_path):
    path = write(tmp_path, bytes(range(256)), "binary.toml")
    outcome = cli("sweep", path, "--out", tmp_path / "out", cwd=tmp_path)
    assert_cli_error(outcome, "sweep file", "binary.toml", "not UTF-8 text")
    assert not (tmp_path / "out").exists()


EXPERIMENT_CASES = [
    (bytes(range(256)), "not UTF-8 text"),
    ("[[runs]\n", "config.toml"),
    ("experiment = 3\n", "experiment must be a table [experiment]"),
    ("runs = 3\n", "runs must be an array of tables [[runs]]"),
    ("runs = [1, 2]\n", "runs[0]: must be a table of settings, got 1"),
    ("[experiment]\nseeds = 'x'\n[[runs]]\nenv = 'x'\n", "seeds must be an integer in [1, "),
    ("[experiment]\nseeds = 2\nname = 5\n[[runs]]\nenv = 'x'\n",
     "experiment.name must be a non-empty string, got 5"),
    ("[experiment]\nseedz = 2\n", "unknown key experiment.seedz"),
    ("[runz]\n", "unknown key runz"),
    ("[experiment]\nseeds = 2\n", "an experiment needs at least one run config"),
    ("[[runs]]\nplanning_stepz = 3\n", "runs[0]: unknown key 'planning_stepz'"),
    ("[[runs]]\nenv = 'x'\nuntil_near_optimal = 'no'\n",
     "runs[0]: until_near_optimal must be true or false"),
    ("[[runs]]\nenv = 'x'\nepisodes = [1]\n", "runs[0]: episodes must be an integer in [1, "),
    ("[[runs]]\nenv = 'x'\nagent = 7\n", "runs[0]: agent must be one of"),
]


@pytest.mark.parametrize("content, message", EXPERIMENT_CASES)
def test_bad_experiment_files_get_one_line(tmp_path, content, message):
    with pytest.raises(ConfigError) as err:
        Experiment.from_toml(write(tmp_path, content, "config.toml"))
    assert_config_error(err, "config.toml", message)


# Documents the sweep loader may meet: the keys it knows and some it does not, values of
# every TOML type, and realistic ones often enough to get past the type checks to the deeper
# ones (and to documents that load).
ENVS = st.sampled_from(["dynaq/DynaMaze-v0", "FrozenLake-v1", "CartPole-v1", "x"])
SCALARS = (st.integers(-2**63, 2**63 - 1) | st.floats() | st.booleans()
           | st.text(st.characters(exclude_categories=("Cs",)), max_size=12) | ENVS
           | st.sampled_from(["dyna-q", "dyna-q+", "replay", "dqn", "counts", "expected",
                              "prioritized", "nosuch:Agent", ""])
           | st.integers(0, 60) | st.floats(0.0, 1.0))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=2), max_leaves=6)
KEYS = st.sampled_from([*keys(), "bogus", "config"])
TABLE = st.dictionaries(KEYS, VALUES, max_size=5)
SWEEP_TABLE = st.dictionaries(KEYS, st.lists(VALUES, min_size=0, max_size=3) | VALUES,
                              max_size=3)
REALISTIC = st.fixed_dictionaries(
    {"fixed": st.fixed_dictionaries({"env": ENVS}, optional={
        "agent": st.sampled_from(["dyna-q", "dyna-q+", "replay", "dyna-dqn"]),
        "episodes": st.integers(0, 100), "alpha": st.floats(0.0, 1.0) | VALUES}),
     "sweep": st.dictionaries(st.sampled_from(["planning_steps", "alpha", "kappa", "model"]),
                              st.lists(st.integers(0, 50) | st.floats(0.0, 1.0) | VALUES,
                                       min_size=1, max_size=3), max_size=2)},
    optional={"seeds": st.integers(-3, MAX_SEEDS + 3), "name": st.text(max_size=5)})
DOCUMENTS = REALISTIC | st.fixed_dictionaries({}, optional={
    "name": VALUES, "seeds": st.integers(-3, MAX_SEEDS + 3) | VALUES, "fixed": TABLE,
    "sweep": SWEEP_TABLE, "bogus": VALUES})
EXPERIMENT_DOCUMENTS = st.fixed_dictionaries({}, optional={
    "experiment": st.dictionaries(st.sampled_from(["name", "seeds", "bogus"]), VALUES,
                                  max_size=3) | VALUES,
    "versions": TABLE, "runs": st.lists(TABLE | VALUES, max_size=3) | VALUES})


def toml_value(value):
    """``value`` in TOML's inline syntax."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) \
            + "}"
    return toml_string(value)


def toml_string(text):
    """``text`` as a TOML basic string (control characters escaped, the rest as it is)."""
    return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7f or c in '"\\'
                         else c for c in text) + '"'


def toml_document(doc):
    """``doc`` as a TOML document: scalars at the top, tables as ``[name]`` sections."""
    lines = [f"{toml_string(k)} = {toml_value(v)}" for k, v in doc.items()
             if not isinstance(v, dict)]
    for name, table in doc.items():
        if isinstance(table, dict):
            lines += [f"[{name}]", *(f"{toml_string(k)} = {toml_value(v)}"
                                     for k, v in table.items())]
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=DOCUMENTS)
def test_any_toml_document_is_a_valid_sweep_or_one_config_error(tmp_path_factory, doc):
    path = write(tmp_path_factory.mktemp("s"), toml_document(doc))
    try:
        exp = load_sweep(path)
    except ConfigError as err:
        assert "\n" not in str(err) and str(err)
    else:
        assert 1 <= len(exp.runs) <= MAX_RUNS and 1 <= exp.seeds <= MAX_SEEDS
        assert all(isinstance(r, RunConfig) and isinstance(r.env, str) for r in exp.runs)
        assert len({r.key() for r in exp.runs}) == len(exp.runs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=EXPERIMENT_DOCUMENTS)
def test_any_toml_document_is_a_valid_experiment_or_one_config_error(tmp_path_factory, doc):
    runs = doc.pop("runs", None)
    tables = isinstance(runs, list) and all(isinstance(r, dict) for r in runs)
    if runs is not None and not tables:
        doc["runs"] = runs  # an inline value, of the wrong kind
    text = toml_document(doc)
    if tables:
        text += "".join("[[runs]]\n" + "".join(f"{toml_string(k)} = {toml_value(v)}\n"
                                               for k, v in r.items()) for r in runs)
    path = write(tmp_path_factory.mktemp("e"), text, "config.toml")
    try:
        exp = Experiment.from_toml(path)
    except ConfigError as err:
        assert "\n" not in str(err) and "config.toml" in str(err)
    else:
        assert exp.runs and 1 <= exp.seeds <= MAX_SEEDS


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=80) | st.binary(max_size=80))
def test_arbitrary_text_or_bytes_is_a_config_error_or_a_valid_sweep(tmp_path_factory, text):
    path = write(tmp_path_factory.mktemp("s"), text)
    try:
        exp = load_sweep(path)
    except ConfigError as err:
        assert "\n" not in str(err)
    else:
        assert exp.runs
