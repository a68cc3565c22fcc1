"""Means, medians and IQMs with 95% (stratified) bootstrap CIs, performance profiles,
probability of improvement, per-seed "reached and stayed" metrics, summaries and curves.

The interval estimates follow Agarwal et al. (2021), "Deep reinforcement learning at the
edge of the statistical precipice": percentile bootstrap CIs where, when several tasks
(envs) are aggregated, the runs are resampled within each task ("stratified").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from dynaq.errors import ConfigError
from dynaq.experiments.config import RunConfig
from dynaq.metrics import q_is_near_optimal
from dynaq.records import DIAGNOSTICS

CONFIDENCE = 0.95
N_RESAMPLES = 2000
_GATHERED = 1 << 17
"""How many resampled values :func:`bootstrap_interval` gathers at once (1 MB): few enough
that the allocator reuses their memory from one block of resamples to the next."""
SUMMARY_METRICS = ("episodes_to_optimal_policy", "env_steps_to_optimal_policy",
                   "episodes_to_near_optimal_q", "env_steps_to_near_optimal_q", "backups",
                   "wall_s")
OUTCOME_METRICS = ("mean_return", "success_rate", "total_return")
"""What a run earned, summarized beside :data:`SUMMARY_METRICS`: the measure of worlds with
no exact model (no value error to reach) and of stochastic ones; ``total_return`` is the
cumulative reward of a total-steps run (Sutton & Barto Figures 8.4 and 8.5)."""

Samples = np.ndarray | Sequence[np.ndarray]
"""Scores: a 1-D array (one task), or one 1-D array per task (stratum)."""


def config_columns(df: pd.DataFrame) -> list[str]:
    """The run-config columns of a results frame (what identifies a configuration)."""
    return [c for c in RunConfig.columns() if c in df.columns]


def varying_columns(df: pd.DataFrame) -> list[str]:
    """The config columns whose value is not the same in every row."""
    return [c for c in config_columns(df)
            if not _constant(df[c]) and df[c].nunique(dropna=False) > 1]


def _constant(column: pd.Series) -> bool:
    """Whether ``column`` certainly holds one value (missing counting as one), which
    comparing with its first value tells without hashing every row (a results frame has
    some forty config columns, nearly all constant). False may still be one value: where
    the values are missing of several kinds (``nunique`` counts None and NaN apart)."""
    if len(column) == 0:
        return True
    first = column.iloc[0]
    if not pd.isna(first):
        same = column.array == first  # numpy's bools for numpy and str columns, and quick
        if not isinstance(same, np.ndarray):  # masked: missing compares as missing
            same = column.eq(first).to_numpy(bool, na_value=False)
        return bool(same.all())
    if column.dtype.kind == "f":  # NaN is its one missing value
        return bool(column.isna().all())
    return first is None and column.dtype == object and bool(
        (column.to_numpy() == None).all())  # noqa: E711 (elementwise: every value is None)


def _group_numbers(df: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """``df.groupby(keys, dropna=False, sort=False).ngroup()`` as an array: each row's
    combination of ``keys`` numbered in order of first appearance; and the keys that may
    vary. Only those are factorized: a constant one splits no group."""
    number, varied = np.zeros(len(df), dtype=np.int64), []
    for key in keys:
        if not _constant(df[key]):
            codes, uniques = pd.factorize(df[key], use_na_sentinel=False)
            # below rows² (no overflow), renumbered in order of first appearance
            number = pd.factorize(number * len(uniques) + codes)[0]
            varied.append(key)
    return number, varied


def config_groups(df: pd.DataFrame, sort: bool = False) -> list[tuple[dict, np.ndarray]]:
    """The groups of ``df.groupby(config_columns(df), dropna=False, sort=sort)``, in its
    order, as pairs of a config and the positions of its rows (ascending), hashing only the
    columns that vary (a results frame has some forty config columns, nearly all constant).

    The config is the groupby's key as a dict: a column's value, or as pandas spells an
    object column's (None as NaN, 5 as 5.0 beside a NaN).
    """
    cfg = config_columns(df)
    if df.empty:
        return []
    number, varied = _group_numbers(df, cfg)
    order = np.argsort(number, kind="stable")
    rows = np.split(order, np.cumsum(np.bincount(number))[:-1])
    # pandas groups one row of each group by the columns that may tell the groups apart
    # and those whose key it may spell unlike the value (objects); the key of a constant
    # column is its value as a Python scalar, as ``tolist`` gives it
    keys = [c for c in cfg if c in varied or df[c].dtype == object]
    same = {c: df[c].iloc[:1].tolist()[0] for c in cfg if c not in keys}
    if not keys:
        return [(same, rows[0])]
    heads = df[keys].iloc[[r[0] for r in rows]].reset_index(drop=True)
    groups = []
    for values, head in heads.groupby(keys, dropna=False, sort=sort):
        config = {**same, **dict(zip(keys, values, strict=True))}
        groups.append(({c: config[c] for c in cfg}, rows[head.index[0]] if len(head) == 1
                       else np.sort(np.concatenate([rows[i] for i in head.index]))))
    return groups


def bootstrap_interval(samples: Sequence[np.ndarray], statistic: Callable[..., np.ndarray],
                       axis: int = -1, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A statistic of one or more samples and its 95% percentile-bootstrap CI.

    Each sample is resampled on its own, so passing one sample per task gives the
    stratified bootstrap. The resampling stream comes from ``seed`` alone.

    Args:
        samples: The samples; NaNs are not allowed.
        statistic: ``statistic(*samples, axis=axis)``, vectorised along ``axis``; extra
            outputs (e.g. one per threshold) go on leading axes. Each resample's value
            must depend on that resample alone: they are passed a block at a time.
        axis: The axis of the observations.
        seed: Seeds the resampling.

    Returns:
        ``(estimate, low, high)``; the bounds are NaN when a sample has fewer than two
        observations, and equal the estimate when every resample gives the same value.
    """
    samples = tuple(np.asarray(s, dtype=float) for s in samples)
    value = np.asarray(statistic(*samples, axis=axis), dtype=float)
    if min(s.shape[axis] for s in samples) < 2:
        nan = np.full_like(value, np.nan)
        return value, nan, nan
    # Resampled index arrays, one stratum at a time, then the statistic of all resamples in
    # one vectorised call (scipy.stats.bootstrap does the same, but importing it costs
    # more than the rest of a small reproduction).
    samples = [np.moveaxis(sample, axis, -1) for sample in samples]
    # The statistic of resamples of constant data is that constant up to rounding. Constant
    # is max == min, not ptp == 0: a sample may be all ±inf (seeds that never reached a
    # "to" metric, ranked worst), where max − min is inf − inf.
    constant = np.all([np.max(s, axis=-1) == np.min(s, axis=-1) for s in samples], axis=0)
    if np.ndim(constant) < np.ndim(value):
        constant = np.broadcast_to(constant, value.shape)
    if np.all(constant):  # the bounds are the estimate whatever the resamples give
        return value, np.where(constant, value, np.nan), np.where(constant, value, np.nan)
    indices = _resample_indices(tuple(sample.shape[-1] for sample in samples), seed)
    # Resamples go through the statistic a block at a time (each one's value is its own):
    # gathering all at once made arrays of thousands × seeds that the OS maps afresh for
    # every metric, at times stalling for a second to find huge pages for them.
    step = max(1, _GATHERED // sum(sample.size for sample in samples))
    replicas = np.concatenate([np.asarray(statistic(*(
        sample[..., index[i:i + step]] for sample, index in zip(samples, indices, strict=True)),
        axis=-1), dtype=float) for i in range(0, N_RESAMPLES, step)], axis=-1)
    low, high = np.percentile(replicas, [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)],
                              axis=-1)
    return value, np.where(constant, value, low), np.where(constant, value, high)


@functools.lru_cache(maxsize=4)
def _resample_indices(sizes: tuple[int, ...], seed: int) -> tuple[np.ndarray, ...]:
    """The resampled observations of :func:`bootstrap_interval`, one ``(N_RESAMPLES, n)``
    array per stratum of ``n``, drawn one stratum after the other from ``seed``'s stream.
    They depend on the sizes and the seed alone, so a summary's many metrics and configs
    of as many seeds share one draw (drawn as intp, numpy's index type: indexing with int32
    indices converts them first, which took longer than the gather itself; on a 64-bit
    machine intp is the int64 drawn, and no copy is made: it would cost as long as the
    draw)."""
    rng = np.random.default_rng(seed)
    return tuple(_frozen(rng.integers(0, n, (N_RESAMPLES, n)).astype(np.intp, copy=False))
                 for n in sizes)


@functools.lru_cache(maxsize=4)
def _resample_counts(n: int, seed: int) -> np.ndarray:
    """How often each of ``n`` observations occurs in each resample of :func:`bootstrap_ci`
    (``(N_RESAMPLES, n)``, from ``seed``'s stream): the same for every curve point, config
    and plot of as many seeds (kept as int32: the same counts in half the memory)."""
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), N_RESAMPLES)
    return _frozen(counts.astype(np.int32))


def _frozen(array: np.ndarray) -> np.ndarray:
    """``array`` made read-only, as a cached array shared by every caller must be."""
    array.flags.writeable = False
    return array


def bootstrap_ci(data: np.ndarray, axis: int = 0, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Mean and 95% percentile-bootstrap CI of ``data`` along ``axis``.

    NaNs are not allowed; with fewer than two samples the bounds are NaN.

    The mean of a resample is a weighted mean of the data, so all resamples come from one
    matrix product of multinomial counts with the data: for a thousand seeds × fifty
    episodes this takes milliseconds where ``scipy.stats.bootstrap`` builds every
    resampled array (gigabytes, tens of seconds).

    Returns:
        ``(mean, low, high)``, each with ``axis`` removed.
    """
    data = np.moveaxis(np.asarray(data, dtype=float), axis, 0)
    n, shape = data.shape[0], data.shape[1:]
    mean = data.mean(axis=0)
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan
    # int32 counts times float64 data is the product of the counts as float64, as int64's
    means = _resample_counts(n, seed) @ data.reshape(n, -1) / n
    low, high = np.percentile(means, [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)], axis=0)
    # The mean of resamples of constant data is that constant up to rounding; say so.
    constant = np.ptp(data.reshape(n, -1), axis=0) == 0
    low, high = np.where(constant, mean.reshape(-1), low), np.where(constant,
                                                                    mean.reshape(-1), high)
    return mean, low.reshape(shape), high.reshape(shape)


def iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50%, ⌊n/4⌋ values trimmed from each end
    (as ``scipy.stats.trim_mean(x, 0.25)``)."""
    x = np.sort(np.moveaxis(np.asarray(x, dtype=float), axis, -1), axis=-1)
    n = x.shape[-1]
    cut = int(0.25 * n)
    return x[..., cut:n - cut].mean(axis=-1)


AGGREGATES: dict[str, Callable[..., np.ndarray]] = {"mean": np.mean, "median": np.median,
                                                      "iqm": iqm}
"""The aggregate statistics of :func:`aggregate_ci`, by name."""


def _strata(samples: Samples) -> list[np.ndarray]:
    if isinstance(samples, np.ndarray) or np.ndim(samples[0]) == 0:
        return [np.asarray(samples, dtype=float).ravel()]
    return [np.asarray(s, dtype=float).ravel() for s in samples]


def aggregate_ci(samples: Samples, stat: str = "iqm",
                 seed: int = 0) -> tuple[float, float, float]:
    """Mean, median or IQM of all runs, pooled over tasks, with a stratified bootstrap CI.

    Args:
        samples: Scores, one array per task (or one array); NaNs are not allowed.
        stat: ``"mean"``, ``"median"`` or ``"iqm"``.
        seed: Seeds the resampling.

    Returns:
        ``(estimate, low, high)``.
    """
    if stat not in AGGREGATES:
        raise ConfigError(f"stat must be one of {', '.join(AGGREGATES)}; got {stat!r}")
    func = AGGREGATES[stat]

    def pooled(*xs: np.ndarray, axis: int = -1) -> np.ndarray:
        # one task's runs as they are: the same values, without a copy of every resample
        return func(xs[0] if len(xs) == 1 else np.concatenate(xs, axis=axis), axis=axis)

    value, low, high = bootstrap_interval(_strata(samples), pooled, seed=seed)
    return float(value), float(low), float(high)


def performance_profile(samples: Samples, taus: np.ndarray,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of runs scoring above each threshold τ, averaged over tasks, with CI bands.

    Args:
        samples: Scores, one array per task (or one array); NaNs are not allowed.
        taus: The thresholds.
        seed: Seeds the resampling.

    Returns:
        ``(fraction, low, high)``, each of the shape of ``taus``.
    """
    taus = np.asarray(taus, dtype=float)

    def profile(*xs: np.ndarray, axis: int = -1) -> np.ndarray:
        above = [np.mean(np.moveaxis(x, axis, -1)[..., None, :] > taus[:, None], axis=-1)
                 for x in xs]  # (..., taus) per task
        return np.moveaxis(np.mean(above, axis=0), -1, 0)  # outputs lead, as SciPy wants

    return bootstrap_interval(_strata(samples), profile, seed=seed)


def _improvement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """P(X > Y) with ties counted ½: the Mann-Whitney U statistic of x over n·m."""
    from scipy import stats

    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    n, m = x.shape[-1], y.shape[-1]
    ranks = stats.rankdata(np.concatenate([x, y], axis=-1), axis=-1)
    return (ranks[..., :n].sum(axis=-1) - n * (n + 1) / 2) / (n * m)


def probability_of_improvement(x: Samples, y: Samples,
                               seed: int = 0) -> tuple[float, float, float]:
    """P(X > Y): the probability that a run of X scores above a run of Y, ties counting ½,
    averaged over tasks, with a stratified bootstrap CI (X and Y resampled apart).

    Args:
        x: Scores of X, one array per task (or one array); ±inf is allowed, NaN is not.
        y: Scores of Y, the same tasks in the same order.
        seed: Seeds the resampling.

    Returns:
        ``(probability, low, high)``.

    Raises:
        ConfigError: If x and y have different numbers of tasks.
    """
    xs, ys = _strata(x), _strata(y)
    if len(xs) != len(ys):
        raise ConfigError(f"x and y must hold the same tasks; got {len(xs)} and {len(ys)}")
    tasks = len(xs)

    def average(*s: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean([_improvement(s[i], s[tasks + i], axis) for i in range(tasks)], axis=0)

    value, low, high = bootstrap_interval([*xs, *ys], average, seed=seed)
    return float(value), float(low), float(high)


def _reached(df: pd.DataFrame, cell: np.ndarray, last: pd.Series, flag: pd.Series,
             name: str) -> pd.DataFrame:
    """Per cell: first episode from which ``flag`` holds to the end, and env steps then
    (``last``: each row's last episode of its cell)."""
    last_bad = df["episode"].where(~flag.astype(bool)).groupby(cell).transform("max").fillna(0)
    hit = ((df["episode"] == last_bad + 1) & (last_bad < last)).to_numpy()
    rows = df.loc[hit, ["episode", "env_steps"]].set_axis(cell[hit])
    return rows.rename(columns={"episode": f"episodes_to_{name}",
                                "env_steps": f"env_steps_to_{name}"})


def is_to_metric(metric: str) -> bool:
    """Whether ``metric`` counts until something happened (NaN: it never did)."""
    return metric.startswith(("episodes_to", "env_steps_to"))


def per_seed(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (config, seed): when the greedy policy became and stayed optimal, when Q
    became and stayed near-optimal (value_error ≤ 0.05·|V*(start)|), total backups, wall
    time, episodes run, mean return, success rate (the fraction of its episodes with a
    positive return: those that reached a rewarding end, the goal of a gridworld or of
    FrozenLake, before any step limit), total return (the cumulative reward), and the last
    recorded value of each diagnostic of :data:`dynaq.records.DIAGNOSTICS` in the frame
    (``final_value_error``, …). Not reached: NaN.

    Raises:
        ConfigError: If ``df`` is empty or lacks a column of :func:`dynaq.load_results`.
    """
    _check_results_frame(df)
    keys = [*config_columns(df), "seed"]
    cell = _group_numbers(df, keys)[0]
    g = df.groupby(cell)
    finals = {f"final_{c}": (c, "last") for c in DIAGNOSTICS if c in df.columns}
    # A cell's rows share its keys: they are those of its first row (``first`` would look
    # for the first non-missing value of each of some forty columns).
    heads = np.unique(cell, return_index=True)[1]
    out = df[keys].iloc[heads].set_axis(np.arange(len(heads))).join(
        g.agg(v_star_start=("v_star_start", "first"), episodes_run=("episode", "max"),
              env_steps=("env_steps", "max"), backups=("backups", "max"),
              wall_s=("wall_s", "max"), mean_return=("return", "mean"),
              total_return=("return", "sum"), **finals))
    out["success_rate"] = (df["return"] > 0).groupby(cell).mean()
    near = q_is_near_optimal(df["value_error"].to_numpy(float), df["v_star_start"].to_numpy())
    last = g["episode"].transform("max")
    for name, flag in (("optimal_policy", df["policy_optimal"].fillna(False)),
                       ("near_optimal_q", pd.Series(near, index=df.index))):
        out = out.join(_reached(df, cell, last, flag, name))
    return out.reset_index(drop=True)


_RESULT_COLUMNS = ("seed", "episode", "env_steps", "backups", "wall_s", "return",
                   "value_error", "policy_optimal", "v_star_start")
"""What :func:`per_seed` reads of a results frame besides its config columns."""


def _check_results_frame(df: pd.DataFrame) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"results must be a DataFrame from dynaq.load_results, got "
                          f"{type(df).__name__}")
    missing = [c for c in _RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(f"results lack the column(s) {', '.join(missing)}: give a frame "
                          "from dynaq.load_results")
    if df.empty:
        raise ConfigError("results are empty: no episode to summarize")
    if not config_columns(df):
        raise ConfigError("results have no config column (env, agent, …): give a frame from "
                          "dynaq.load_results")


def summarize(df: pd.DataFrame, stats: Sequence[str] = ("mean",),
              metrics: Sequence[str] = SUMMARY_METRICS + OUTCOME_METRICS) -> pd.DataFrame:
    """One row per config: seeds, and for each metric the aggregate over seeds with its 95%
    bootstrap CI and, for the "to" metrics, how many seeds ``_reached`` it (the aggregate
    and CI are over those seeds; NaN for an env with no exact model, where they cannot be
    measured).

    Args:
        df: Results as from :func:`dynaq.load_results`.
        stats: Aggregates of :data:`AGGREGATES`. The mean goes in columns ``{metric}``,
            ``{metric}_lo``, ``{metric}_hi``; the others in ``{metric}_{stat}``,
            ``{metric}_{stat}_lo``, ``{metric}_{stat}_hi``.
        metrics: Columns of :func:`per_seed`.
    """
    return pd.DataFrame(summary_rows(df, stats, metrics))


def summary_rows(df: pd.DataFrame, stats: Sequence[str] = ("mean",),
                 metrics: Sequence[str] = SUMMARY_METRICS + OUTCOME_METRICS) -> list[dict]:
    """:func:`summarize`'s rows as dicts, one per config, in order of first appearance.
    A config's row depends on its own results alone, so the rows of each config's results
    computed apart, concatenated in that order, make the summary of them all
    (``pd.DataFrame(rows)``) without holding them all at once.

    Args:
        df: Results as from :func:`dynaq.load_results`.
        stats: As for :func:`summarize`.
        metrics: As for :func:`summarize`.
    """
    seeds = per_seed(df)
    measured = seeds["v_star_start"].notna().to_numpy()
    values = {metric: seeds[metric].to_numpy(float) for metric in metrics}
    rows = []
    for config, where in config_groups(seeds):
        row = {**config, "seeds": len(where)}
        measurable = measured[where].any()  # else no ground truth to reach
        for metric in metrics:
            x = values[metric][where]
            x = x[~np.isnan(x)]
            for stat in stats:
                name = metric if stat == "mean" else f"{metric}_{stat}"
                est = aggregate_ci(x, stat) if x.size else (np.nan, np.nan, np.nan)
                row.update(zip((name, f"{name}_lo", f"{name}_hi"), est, strict=True))
            if is_to_metric(metric):
                row[f"{metric}_reached"] = int(x.size) if measurable else np.nan
        rows.append(row)
    return rows


def curve(df: pd.DataFrame, y: str = "steps", x: str = "episode") -> pd.DataFrame:
    """Mean of ``y`` with its 95% bootstrap CI at each ``x`` per config, over the seeds.

    Only the ``x`` values every seed reached are kept, so each point averages all seeds.
    Each config's rows are its own: the curve of a frame is the concatenation (ignoring the
    index) of the curves of its configs, each computed alone, in order of first appearance.
    """
    parts = []
    for config, rows in config_groups(df):
        grid, table = _seed_table(df, rows, y, x)
        parts.append(_band(grid, table, x, config))
    return pd.concat(parts, ignore_index=True)


def _seed_table(df: pd.DataFrame, rows: np.ndarray, y: str,
                x: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``x`` values every seed of ``rows`` has a ``y`` at, and those ``y`` (a row per
    seed, ascending; a column per ``x``, ascending): what
    ``df.iloc[rows].pivot_table(index="seed", columns=x, values=y).dropna(axis=1)`` holds
    (the mean of no value is missing; a seed with none is left out), placed directly when
    each (seed, x) has at most one row (a mean of one value is that value)."""
    columns = ["seed", x, y]
    if (len(set(columns)) == 3 and all(df[c].dtype.kind in "iuf" for c in columns[:2])
            and pd.api.types.is_numeric_dtype(df[y])):
        seeds, xs = df["seed"].to_numpy()[rows], df[x].to_numpy()[rows]
        ys = df[y].to_numpy(float, na_value=np.nan)[rows]
        keep = ~np.isnan(ys)
        seeds, xs, ys = seeds[keep], xs[keep], ys[keep]
        if len(ys) and not np.isnan(seeds.astype(float)).any() and not np.isnan(
                xs.astype(float)).any():
            seed_ids, seed_at = _sorted_codes(seeds)
            grid, x_at = _sorted_codes(xs)
            at = seed_at * len(grid) + x_at
            if np.bincount(at).max() == 1:
                table = np.full((len(seed_ids), len(grid)), np.nan)
                table.flat[at] = ys
                full = ~np.isnan(table).any(axis=0)
                # C order, as pivot_table's: a mean down the seeds sums in another order
                # (so other bits) over a column-major table
                return grid[full], np.ascontiguousarray(table[:, full])
    table = df.iloc[rows].pivot_table(index="seed", columns=x, values=y).dropna(axis=1)
    return table.columns.to_numpy(), table.to_numpy()


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``, counting instead of sorting where the
    values are integers of a range not much wider than their number (seeds, episodes)."""
    if values.dtype.kind in "iu":
        low = values.min()
        if values.max() - low < 4 * len(values):
            present = np.bincount(values - low) > 0
            return np.flatnonzero(present) + low, (np.cumsum(present) - 1)[values - low]
    return np.unique(values, return_inverse=True)


def _band(grid: np.ndarray, table: np.ndarray, x: str, config: dict) -> pd.DataFrame:
    """Mean and CI over the seeds (rows of ``table``) at each point of ``grid``."""
    mean, lo, hi = bootstrap_ci(table, axis=0)
    return pd.DataFrame({x: grid, "mean": mean, "lo": lo, "hi": hi, **config})


def step_curve(df: pd.DataFrame, y: str = "steps", points: int = 200,
               cumulative: bool = False) -> pd.DataFrame:
    """Mean of ``y`` with its 95% bootstrap CI against real steps (``env_steps``), per config.

    Each seed's series, known at the end of each episode, is put on a common grid of
    ``points`` real steps up to where every seed of the config got, so runs whose episodes
    end at different steps can be averaged.

    Args:
        df: Results as from :func:`dynaq.load_results`.
        y: Per-episode column.
        points: Grid size.
        cumulative: Sum ``y`` over the episodes finished by each grid step (a step
            function from 0, as the cumulative reward of Sutton & Barto Figures 8.4 and
            8.5); otherwise interpolate linearly between episode ends.

    Returns:
        Columns ``env_steps``, ``mean``, ``lo``, ``hi`` and the config columns.
    """
    series = df[list(dict.fromkeys(["seed", "episode", "env_steps", y]))]
    parts = []
    for config, rows in config_groups(df):
        runs = [(s["env_steps"].to_numpy(float), s[y].to_numpy(float))
                for _, s in series.iloc[rows].sort_values("episode").groupby("seed")]
        grid = np.linspace(0.0, min(xs[-1] for xs, _ in runs), points)
        if cumulative:
            table = [np.concatenate([[0.0], np.cumsum(ys)])[np.searchsorted(xs, grid, "right")]
                     for xs, ys in runs]
        else:
            table = [np.interp(grid, xs, ys) for xs, ys in runs]
        parts.append(_band(grid, np.array(table), "env_steps", config))
    return pd.concat(parts, ignore_index=True)
