"""datacollect: build, run and watch data collection workflows without code."""

__version__ = "0.1.0"
