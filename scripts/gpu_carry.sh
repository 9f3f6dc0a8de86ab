#!/usr/bin/env bash
# Fill .gpu_carry/ (ignored by git) with what benchmarks/gpu_run.sh needs on a GPU machine that
# has torch but not the window's packages, and no MNIST: name it in the device tool's `carry`.
#   site.tar.xz  PySide6-Essentials (the Qt modules draw-gui and its tests use, offscreen platform),
#                shiboken6, pyqtgraph, platformdirs, pytest-qt for CPython 3.12, and in _syslib/
#                the system libraries Qt links against, taken from this machine
#   data/MNIST/raw/*.gz  the four MNIST files from ../shared/data
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu_carry/' .git/info/exclude || echo '/.gpu_carry/' >> .git/info/exclude
QT=${QT_VERSION:-$(.venv/bin/python -c 'import PySide6; print(PySide6.__version__)')}
W=$(mktemp -d)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_34_x86_64 --platform manylinux_2_17_x86_64 \
    -d "$W" "PySide6-Essentials==$QT" "shiboken6==$QT" pyqtgraph platformdirs pytest-qt
S="$W/site"; mkdir -p "$S/PySide6/Qt/lib" "$S/PySide6/Qt/plugins"/{platforms,imageformats,iconengines} "$S/_syslib"
X="$W/x"; mkdir -p "$X"; unzip -q "$W"/pyside6_essentials-*.whl -d "$X"
cp "$X"/PySide6/*.py "$X"/PySide6/*.json "$S/PySide6/"; cp -P "$X"/PySide6/libpyside6.abi3.so* "$S/PySide6/"
for m in Core Gui Widgets Test Svg SvgWidgets OpenGL OpenGLWidgets DBus Network PrintSupport; do
    cp "$X/PySide6/Qt$m.abi3.so" "$S/PySide6/"; cp -P "$X"/PySide6/Qt/lib/libQt6$m.so* "$S/PySide6/Qt/lib/"
done
cp -P "$X"/PySide6/Qt/lib/libicu* "$S/PySide6/Qt/lib/"
cp "$X"/PySide6/Qt/plugins/platforms/lib{qoffscreen,qminimal}.so "$S/PySide6/Qt/plugins/platforms/"
cp "$X"/PySide6/Qt/plugins/imageformats/libqsvg.so "$S/PySide6/Qt/plugins/imageformats/"
cp "$X"/PySide6/Qt/plugins/iconengines/* "$S/PySide6/Qt/plugins/iconengines/"
for w in "$W"/shiboken6-*.whl "$W"/pyqtgraph-*.whl "$W"/platformdirs-*.whl "$W"/pytest_qt-*.whl; do unzip -q -o "$w" -d "$S"; done
for f in "$S"/PySide6/Qt/lib/*.so.6 "$S"/PySide6/Qt/plugins/*/*.so "$S"/PySide6/*.so* "$S"/shiboken6/*.so*; do
    ldd "$f" | awk '/=> \// && !/PySide6|shiboken/ {print $1, $3}'
done | sort -u | grep -vE '^(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|libz|libresolv)\.so' |
    while read -r name path; do cp -L "$path" "$S/_syslib/$name"; done
mkdir -p .gpu_carry/data/MNIST/raw
tar -cJf .gpu_carry/site.tar.xz -C "$S" .
for f in ../shared/data/MNIST/raw/*-ubyte; do gzip -c "$f" > ".gpu_carry/data/MNIST/raw/$(basename "$f").gz"; done
rm -rf "$W"
du -sh .gpu_carry
