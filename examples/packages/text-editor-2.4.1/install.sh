#!/bin/sh
# text-editor 2.4.1: the office text editor (needs runtime-lib).
# Installs into $FERRY_INSTALL_ROOT/opt/text-editor. Run by the ferry agent in the unpacked artifact.
set -eu
: "${FERRY_INSTALL_ROOT:?is not set: run this through the ferry agent, or set it (to / for a real install)}"
: "${FERRY_PACKAGE_DIR:?is not set: run this through the ferry agent, or set it to the unpacked artifact}"
root="${FERRY_INSTALL_ROOT%/}"
dest="$root/opt/text-editor"

if [ ! -f "$root/opt/runtime-lib/VERSION" ]; then
  echo "text-editor: runtime-lib is not installed in $root/opt/runtime-lib; install it first (the Package says requires: [runtime-lib])" >&2
  exit 1
fi

# Stage next to the target, then swap, so an upgrade never leaves a half-copied tree.
rm -rf "$dest.new"
mkdir -p "$dest.new"
cp -R "$FERRY_PACKAGE_DIR/payload/." "$dest.new/"
rm -rf "$dest"
mv "$dest.new" "$dest"
printf '%s\n' "2.4.1" > "$dest/VERSION"   # written last: the completion marker
echo "text-editor 2.4.1 installed in $dest"
