#!/bin/sh
# legacy-editor 1.0.3: the old editor, being retired in favour of text-editor.
# Installs into $FERRY_INSTALL_ROOT/opt/legacy-editor. Run by the ferry agent in the unpacked artifact.
set -eu
: "${FERRY_INSTALL_ROOT:?is not set: run this through the ferry agent, or set it (to / for a real install)}"
: "${FERRY_PACKAGE_DIR:?is not set: run this through the ferry agent, or set it to the unpacked artifact}"
root="${FERRY_INSTALL_ROOT%/}"
dest="$root/opt/legacy-editor"

# Stage next to the target, then swap, so an upgrade never leaves a half-copied tree.
rm -rf "$dest.new"
mkdir -p "$dest.new"
cp -R "$FERRY_PACKAGE_DIR/payload/." "$dest.new/"
rm -rf "$dest"
mv "$dest.new" "$dest"
printf '%s\n' "1.0.3" > "$dest/VERSION"   # written last: the completion marker
echo "legacy-editor 1.0.3 installed in $dest"
