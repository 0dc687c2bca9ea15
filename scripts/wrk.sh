#!/usr/bin/env bash
# Installs Debian's wrk, the load generator of bench/engine.py, when it is missing (without it
# the benchmark falls back to a Python load generator that itself takes most of a core, so its
# figures read far lower).
set -u
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing wrk"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
      || echo "warning: could not install wrk; the engine benchmark uses its Python load generator" >&2
  else
    echo "warning: wrk is missing and this is not root; run: sudo apt-get install wrk" >&2
  fi
fi
exit 0
