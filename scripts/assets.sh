#!/bin/sh
# Front-end assets: install the county pages' chart library (Chart.js) and axe-core (for the browser tests),
# pinned in package.json / package-lock.json, and copy their built files into static/vendor/ (git-ignored). Called from `make install`.
set -e
cd "$(dirname "$0")/.."
if command -v npm >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent
fi
mkdir -p static/vendor
if [ -f node_modules/chart.js/dist/chart.umd.js ]; then
    cp node_modules/chart.js/dist/chart.umd.js static/vendor/chart.umd.js
else
    echo "scripts/assets.sh: Chart.js not installed (no npm?); county charts fall back to tables" >&2
fi
# axe-core (pinned like Chart.js): the browser journeys check the pages they visit against WCAG 2 A/AA
if [ -f node_modules/axe-core/axe.min.js ]; then
    cp node_modules/axe-core/axe.min.js static/vendor/axe.min.js
fi
