#!/usr/bin/env bash
# Make Debian's chromium available for the report rendering test
# (tests/integration/test_report_render.py), idempotently: installs it (and a font) with
# apt-get when `chromium` is missing, then prints its version. Needs root to install.
set -euo pipefail

say() { echo "ci-chromium: $*" >&2; }

if ! command -v chromium >/dev/null 2>&1; then
    say "installing chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # No recommends: the headless renderer needs neither a desktop nor extra locales.
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
say "$(chromium --version 2>/dev/null || echo 'chromium installed, version unknown')"
