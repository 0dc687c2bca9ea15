#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing (Playwright drives it
# through executable_path; its own browser download does not work on a closed network).
exec "$(dirname "$0")/debian-package.sh" chromium chromium "browser tests will be skipped"
