#!/usr/bin/env bash
# Installs Debian's wrk, the load generator of bench/engine.py, when it is missing (without it
# the benchmark falls back to a Python load generator that itself takes most of a core, so its
# figures read far lower).
exec "$(dirname "$0")/debian-package.sh" wrk wrk "the engine benchmark uses its Python load generator"
