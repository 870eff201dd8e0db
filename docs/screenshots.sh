#!/usr/bin/env bash
# Regenerates the customer area's screenshots in docs/screenshots/ (1280 px
# and 390 px wide) by running the browser journeys of gateway/tests/journeys.rs
# against a fresh `certgate demo`. Needs chromium, chromium-driver, certbot
# and openssl (Debian packages, as .ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/docs/screenshots"
mkdir -p "$out"
CI=true CERTGATE_SCREENSHOTS="$out" cargo test -q -p certgate --test journeys --locked
ls -1 "$out"
