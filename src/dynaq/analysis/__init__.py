"""Statistics, plots and reports of results."""
