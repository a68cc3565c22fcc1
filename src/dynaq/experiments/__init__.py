"""Configs, runner, store, driver and reproductions."""
