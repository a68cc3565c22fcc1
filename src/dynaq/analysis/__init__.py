"""Statistics, plots and reports of results.

- :mod:`~dynaq.analysis.stats`: bootstrap CIs (mean, median, IQM; stratified over envs),
  performance profiles, probability of improvement, per-seed metrics, summaries, curves.
- :mod:`~dynaq.analysis.compare`: groups compared against a baseline (``dynaq compare``).
- :mod:`~dynaq.analysis.report`: Markdown tables, ``summary.csv`` and ``summary.md``.
- :mod:`~dynaq.analysis.html`: the self-contained ``report.html`` (``dynaq report``).
- :mod:`~dynaq.analysis.plots`: learning curves, cumulative reward, metric against k,
  performance profiles.
- :mod:`~dynaq.analysis.values`, :mod:`~dynaq.analysis.animate`: gridworld value heatmaps
  and the animated value flood.
"""
