#!/usr/bin/env bash
# Builds every release artefact into dist/:
#   dist/<os>-<arch>/<program>[.exe]   cross-built binaries, version stamped
#   dist/deb/<package>_<version>_<arch>.deb   one .deb per program per Linux arch
# and prints what each .deb holds (dpkg-deb -I and -c) when dpkg-deb is there.
#
# usage: scripts/build-release.sh [VERSION]     (default: git describe, else v0.0.0-dev)
# env:   TARGETS="linux/amd64 ..." to build fewer targets; NO_DEB=1 to skip the .debs.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:-$(git describe --tags --always --dirty 2>/dev/null || true)}"
version="${version:-v0.0.0-dev}"
case "$version" in v[0-9]*) ;; [0-9]*) version="v$version" ;; *) version="v0.0.0-$version" ;; esac

# os/arch[/variant]: linux/arm/6 runs on every Raspberry Pi (the Zero and the
# 1 are ARMv6), linux/arm/7 on ARMv7 boards.
all_targets="linux/amd64 linux/arm64 linux/arm/6 linux/arm/7 windows/amd64 darwin/arm64"
targets="${TARGETS:-$all_targets}"
nfpm_version=v2.45.0 # later releases do not install from the module proxy

programs_for() {
	case "$1" in
	windows/*) echo agent shutdownall ;;
	*) echo agent shutdownall stormguard servicemanager ;;
	esac
}

ldflags="-s -w -X github.com/stormguard/stormguard/cmd/internal/cli.Version=$version"
echo "stormguard $version"
for t in $targets; do
	IFS=/ read -r goos goarch goarm <<<"$t"
	dir="dist/$goos-$goarch${goarm:+v$goarm}"
	mkdir -p "$dir"
	ext=""
	[ "$goos" = windows ] && ext=".exe"
	for p in $(programs_for "$t"); do
		CGO_ENABLED=0 GOOS="$goos" GOARCH="$goarch" GOARM="$goarm" \
			go build -trimpath -ldflags "$ldflags" -o "$dir/$p$ext" "./cmd/$p"
	done
	echo "built $dir: $(programs_for "$t")"
done

[ "${NO_DEB:-}" = 1 ] && exit 0

tools="$PWD/.tools"
nfpm="$tools/nfpm-$nfpm_version"
if [ ! -x "$nfpm" ]; then
	mkdir -p "$tools/bin-$nfpm_version"
	GOBIN="$tools/bin-$nfpm_version" go install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$nfpm_version"
	mv "$tools/bin-$nfpm_version/nfpm" "$nfpm"
	rmdir "$tools/bin-$nfpm_version"
fi

# Debian architecture for each Linux binary directory. armhf gets the ARMv6
# build: Raspberry Pi OS's armhf includes ARMv6 boards, Debian's is ARMv7,
# and an ARMv6 binary runs on both.
deb_arch() {
	case "$1" in
	linux-amd64) echo amd64 ;;
	linux-arm64) echo arm64 ;;
	linux-armv6) echo armhf ;;
	esac
}

mkdir -p dist/deb
export VERSION="$version"
for t in $targets; do
	IFS=/ read -r goos goarch goarm <<<"$t"
	d="$goos-$goarch${goarm:+v$goarm}"
	arch="$(deb_arch "$d")"
	[ -n "$arch" ] || continue
	for p in agent shutdownall stormguard servicemanager; do
		DEB_ARCH="$arch" BINDIR="dist/$d" "$nfpm" package --config "deploy/nfpm/$p.yaml" --packager deb --target dist/deb/ >/dev/null
	done
done
ls -l dist/deb/

if command -v dpkg-deb >/dev/null 2>&1; then
	for deb in dist/deb/*.deb; do
		echo "== $deb"
		dpkg-deb -I "$deb"
		dpkg-deb -c "$deb"
	done
fi
