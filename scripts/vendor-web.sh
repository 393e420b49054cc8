#!/usr/bin/env bash
# Refresh the web client's vendored libraries from the npm registry: built files only, with
# their licence, checked into src/neo_events/webclient/static/vendor/ so that `make run` needs
# no build step, no Node and no CDN. Run it, look at `git diff --stat`, run the browser tests,
# commit. Needs `npm` (only here, never to run or test the service).
#
#   scripts/vendor-web.sh            # the pinned version below
#   FULLCALENDAR_VERSION=6.1.22 scripts/vendor-web.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# 6.x: the last major line with a single self-contained build (v7 needs a Temporal polyfill
# and separate theme files); see docs/web-client.md#choices.
FULLCALENDAR_VERSION="${FULLCALENDAR_VERSION:-6.1.21}"
DEST=src/neo_events/webclient/static/vendor

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "fullcalendar@$FULLCALENDAR_VERSION" >/dev/null)
tar -xzf "$work"/fullcalendar-*.tgz -C "$work"
pkg="$work/package"
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$pkg/package.json")

mkdir -p "$DEST"
# The global build holds core, day grid, time grid, list, multi-month and interaction (drag,
# resize, select) with Preact inlined: one file, no import map, no bundler.
cp "$pkg/index.global.min.js" "$DEST/fullcalendar.js"
cp "$pkg/LICENSE.md" "$DEST/fullcalendar-license.txt"
sha=$(sha256sum "$DEST/fullcalendar.js" | cut -d' ' -f1)
cat > "$DEST/README.md" <<NOTE
# Vendored files (do not edit; \`scripts/vendor-web.sh\` rewrites them)

| file | from | version | licence | sha256 |
| --- | --- | --- | --- | --- |
| fullcalendar.js | npm \`fullcalendar\` (index.global.min.js) | $version | MIT (fullcalendar-license.txt) | \`$sha\` |
NOTE
echo "vendored fullcalendar $version into $DEST"
