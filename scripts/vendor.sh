#!/usr/bin/env bash
# Vendors the web pages' front-end files from the npm registry into the package, so that the
# running site loads nothing from outside. Run it by hand to update; commit what it writes.
#   carnet/web/static/vendor/  htmx, Pico CSS, uPlot, Swagger UI (served by the site; /docs)
#   tests/web/vendor/          axe-core (injected by the browser tests only, never served)
# Versions are pinned here and recorded in each folder's VENDORED.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX=2.0.11
PICO=2.1.1
UPLOT=1.6.32
SWAGGER=5.35.0
AXE=4.11.0

site=carnet/web/static/vendor
tests=tests/web/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch NAME VERSION → unpacked in $work/NAME/package
    local dir="$work/${1//\//_}"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$1@$2" >/dev/null && tar -xzf ./*.tgz)
    echo "$dir/package"
}

mkdir -p "$site" "$tests"
htmx=$(fetch htmx.org "$HTMX")
cp "$htmx/dist/htmx.min.js" "$site/htmx.min.js"
pico=$(fetch @picocss/pico "$PICO")
cp "$pico/css/pico.min.css" "$site/pico.min.css"
uplot=$(fetch uplot "$UPLOT")
cp "$uplot/dist/uPlot.iife.min.js" "$site/uPlot.iife.min.js"
cp "$uplot/dist/uPlot.min.css" "$site/uPlot.min.css"
swagger=$(fetch swagger-ui-dist "$SWAGGER")
cp "$swagger/swagger-ui-bundle.js" "$site/swagger-ui-bundle.js"
cp "$swagger/swagger-ui.css" "$site/swagger-ui.css"
axe=$(fetch axe-core "$AXE")
cp "$axe/axe.min.js" "$tests/axe.min.js"

cat > "$site/VENDORED.txt" <<TXT
Front-end files vendored from the npm registry by scripts/vendor.sh (do not edit by hand).
htmx.org $HTMX (BSD-2-Clause): htmx.min.js
@picocss/pico $PICO (MIT): pico.min.css
uplot $UPLOT (MIT): uPlot.iife.min.js, uPlot.min.css
swagger-ui-dist $SWAGGER (Apache-2.0): swagger-ui-bundle.js, swagger-ui.css
TXT
cat > "$tests/VENDORED.txt" <<TXT
Vendored from the npm registry by scripts/vendor.sh, for the browser tests only (never served).
axe-core $AXE (MPL-2.0): axe.min.js
TXT
echo "vendored into $site and $tests"
