#!/usr/bin/env bash
# Builds the Linux bundle of NAMECAR Viewer from this checkout (PyInstaller, one folder):
#   dist/namecar-viewer-VERSION-linux-x86_64.tar.gz   unpack anywhere, run ./namecar-viewer
#   dist/namecar-viewer_VERSION_amd64.deb             /opt/namecar-viewer, /usr/bin symlink,
#                                                     menu entry and hicolor icons
# Uses .venv (made by scripts/setup.sh if missing; VENV=... for another one) and adds the
# `bundle` extra's tools from pyproject.toml to it.  As root on Debian/Ubuntu it first installs
# the X11/Wayland helper libraries Qt's platform plugins link, so that the bundle carries them.
# Windows and macOS: packaging/README.md (not built here).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV="${VENV:-.venv}"

# Libraries Qt's xcb and wayland plugins link that PyInstaller copies into the bundle when they
# are installed here (a desktop often lacks libxcb-cursor0 / -icccm4 / -keysyms1).
BUNDLED_APT="libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
libxcb-render-util0 libxcb-shape0 libxcb-sync1 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 \
libwayland-cursor0 libwayland-egl1"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=""
  for p in $BUNDLED_APT; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "Installing Debian packages for the bundle:$missing"
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi

[ -x "$VENV/bin/python" ] || bash scripts/setup.sh
PY="$VENV/bin/python"
# the bundle tools as pyproject.toml's `bundle` extra lists them (not an editable reinstall)
mapfile -t BUNDLE_REQS < <("$PY" -c 'import tomllib
for r in tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["bundle"]:
    print(r)')
"$PY" -m pip install -q "${BUNDLE_REQS[@]}"

VERSION=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
ARCH=$(uname -m)
DEB_ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
NAME="namecar-viewer-$VERSION-linux-$ARCH"
mkdir -p dist
rm -rf build/pyinstaller build/bundle build/deb

echo "== PyInstaller ($("$VENV/bin/pyinstaller" --version)), one folder"
start=$(date +%s)
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
  --workpath build/pyinstaller --distpath build/bundle packaging/namecar-viewer.spec
BUNDLE="build/bundle/namecar-viewer"
[ -x "$BUNDLE/namecar-viewer" ] || { echo "build.sh: no $BUNDLE/namecar-viewer" >&2; exit 1; }
echo "   built in $(( $(date +%s) - start )) s: $(du -sh "$BUNDLE" | cut -f1) in $BUNDLE"

# The migrations must sit where persistence/migrations/__init__.py looks (beside the module).
for f in env.py script.py.mako versions/r0001_reads.py; do
  [ -f "$BUNDLE/_internal/namecar_viewer/persistence/migrations/$f" ] ||
    { echo "build.sh: migrations/$f missing from the bundle" >&2; exit 1; }
done
[ -f "$BUNDLE/_internal/namecar_viewer/_resources/namecar-viewer.desktop" ] ||
  { echo "build.sh: resources missing from the bundle" >&2; exit 1; }

# The .deb's tree first: hard links change the files' ctime, which tar must not see change.
DEB="build/deb/namecar-viewer_${VERSION}_$DEB_ARCH"
mkdir -p "$DEB/DEBIAN" "$DEB/opt" "$DEB/usr/bin" "$DEB/usr/share/applications" \
  "$DEB/usr/share/icons" "$DEB/usr/share/doc/namecar-viewer"
cp -al "$BUNDLE" "$DEB/opt/namecar-viewer"

echo "== $NAME.tar.gz (in the background: compressing takes a core for a few minutes)"
rm -f "dist/$NAME.tar.gz"
tar -C build/bundle --owner=0 --group=0 --numeric-owner --sort=name \
  --transform "s,^namecar-viewer,$NAME,S" -czf "dist/$NAME.tar.gz.part" namecar-viewer &
tar_pid=$!
trap 'if [ -n "${tar_pid:-}" ]; then kill "$tar_pid" 2>/dev/null || true; fi' EXIT

echo "== namecar-viewer_${VERSION}_$DEB_ARCH.deb"
ln -s /opt/namecar-viewer/namecar-viewer "$DEB/usr/bin/namecar-viewer"
install -m 0644 resources/namecar-viewer.desktop "$DEB/usr/share/applications/"
cp -r resources/icons/hicolor "$DEB/usr/share/icons/"
find "$DEB/usr/share/icons" -type f -exec chmod 0644 {} +
printf 'NAMECAR Viewer %s: imaging review workstation of the NAMECAR trial.\nProprietary (LicenseRef-NAMECAR-Proprietary); it bundles Python, Qt (LGPLv3) and the\nlibraries listed in /opt/namecar-viewer/_internal/*.dist-info with their own licences.\n' \
  "$VERSION" >"$DEB/usr/share/doc/namecar-viewer/copyright"

# Depends: the packages of the libraries the bundle still takes from the system (glibc, GL,
# libxcb), as ldd resolves them with the bundle's own folder searched first.
INTERNAL="$ROOT/$BUNDLE/_internal"
deps=$(find "$BUNDLE" -type f \( -name '*.so*' -o -name namecar-viewer \) -print0 |
  xargs -0 -n 50 env LD_LIBRARY_PATH="$INTERNAL" ldd 2>/dev/null |
  awk '/=> \// {print $3}' | grep -v "^$INTERNAL" | sort -u |
  while read -r lib; do
    dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null || true
  done | cut -d: -f1 | sort -u | grep -v '^libc6$' | paste -sd, | sed 's/,/, /g')
glibc=$(dpkg-query -W -f='${Version}' libc6 2>/dev/null | sed 's/-.*//')
depends="libc6 (>= ${glibc:-2.36})${deps:+, $deps}"
cat >"$DEB/DEBIAN/control" <<EOF
Package: namecar-viewer
Version: $VERSION
Architecture: $DEB_ARCH
Maintainer: NAMECAR Viewer team <namecar-viewer@invalid>
Installed-Size: $(du -sk "$DEB" | cut -f1)
Depends: $depends
Recommends: xkb-data, fonts-dejavu-core, hicolor-icon-theme, desktop-file-utils
Section: science
Priority: optional
Homepage: https://clinicaltrials.gov/study/NCT06882486
Description: imaging review workstation of the NAMECAR trial (NCT06882486)
 CT/MR/PET reading, RECIST 1.1 and PSMA PET quantification for the NAMECAR
 trial's central readers, ancillary-study imagers and local sites.  A frozen
 bundle (Python, Qt, SimpleITK and the DICOM codecs inside) in
 /opt/namecar-viewer; the command is /usr/bin/namecar-viewer.
EOF
dpkg-deb --root-owner-group -Zgzip --build "$DEB" "dist/namecar-viewer_${VERSION}_$DEB_ARCH.deb" >/dev/null
echo "   Depends: $depends"
wait "$tar_pid"
tar_pid=""
mv "dist/$NAME.tar.gz.part" "dist/$NAME.tar.gz"

echo "== built"
ls -l "dist/$NAME.tar.gz" "dist/namecar-viewer_${VERSION}_$DEB_ARCH.deb"
echo "unpacked: $(du -sh "$BUNDLE" | cut -f1)"
