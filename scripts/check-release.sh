#!/usr/bin/env bash
# Checks what scripts/build-release.sh VERSION left in dist/: every binary
# is there, the Linux amd64 ones print VERSION with -version, and every .deb
# carries its binary, its unit, its conffile and guarded maintainer scripts
# (read with dpkg-deb -I and -c). Exits non-zero naming the first problem.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: scripts/check-release.sh VERSION}"
fail() { echo "check-release: $*" >&2; exit 1; }

for d in linux-amd64 linux-arm64 linux-armv6 linux-armv7 darwin-arm64; do
	for p in agent shutdownall stormguard servicemanager; do
		[ -x "dist/$d/$p" ] || fail "missing dist/$d/$p"
	done
done
for p in agent shutdownall; do
	[ -f "dist/windows-amd64/$p.exe" ] || fail "missing dist/windows-amd64/$p.exe"
done
if [ "$(uname -m)" = x86_64 ]; then
	for p in agent shutdownall stormguard servicemanager; do
		out="$("dist/linux-amd64/$p" -version 2>&1 || true)"
		case "$out" in *"$version"*) ;; *) fail "dist/linux-amd64/$p -version printed '$out', want $version" ;; esac
	done
fi

# The embedded test broker (nats-server) belongs to the tests and
# stormguard-demo, never to a shipped binary (deploy/release_test.go checks
# the source the same way).
for d in linux-amd64 linux-arm64 linux-armv6 linux-armv7 darwin-arm64 windows-amd64; do
	for b in dist/$d/*; do
		if go version -m "$b" | grep -q 'nats-io/nats-server'; then
			fail "$b links nats-server"
		fi
	done
done

deb_version="${version#v}"
deb_version="${deb_version/-/\~}" # nfpm: v1.2.3-rc1 becomes 1.2.3~rc1
for arch in amd64 arm64 armhf; do
	for spec in \
		"stormguard-agent:/usr/bin/stormguard-agent:/usr/lib/systemd/system/stormguard-agent.service:/etc/stormguard/agent.yaml" \
		"stormguard:/usr/bin/stormguard:/usr/lib/systemd/system/stormguard.service:/etc/stormguard/stormguard.yaml" \
		"stormguard-servicemanager:/usr/bin/stormguard-servicemanager:/usr/lib/systemd/system/stormguard-servicemanager.service:/etc/stormguard/servicemanager.yaml" \
		"stormguard-shutdownall:/usr/bin/shutdownall::/etc/stormguard/shutdownall.yaml"; do
		IFS=: read -r pkg bin unit conf <<<"$spec"
		name="${bin#/usr/bin/}"
		deb="dist/deb/${pkg}_${deb_version}_${arch}.deb"
		[ -f "$deb" ] || fail "missing $deb"
		info="$(dpkg-deb -I "$deb")"
		list="$(dpkg-deb -c "$deb")"
		grep -q "Architecture: $arch" <<<"$info" || fail "$deb: not Architecture $arch"
		grep -q "Version: $deb_version" <<<"$info" || fail "$deb: not Version $deb_version"
		grep -q "^-rwxr-xr-x .* \.$bin\$" <<<"$list" || fail "$deb: no executable $bin"
		[ "$(dpkg-deb -f "$deb" Package)" = "$pkg" ] || fail "$deb: wrong Package"
		dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx "$conf" || fail "$deb: $conf is not a conffile"
		for f in "/usr/share/doc/$pkg/copyright" "/usr/share/man/man1/$name.1.gz" \
			"/usr/share/bash-completion/completions/$name" "/usr/share/zsh/vendor-completions/_$name"; do
			grep -q " \.$f\$" <<<"$list" || fail "$deb: no $f"
		done
		if [ -n "$unit" ]; then
			grep -q " \.$unit\$" <<<"$list" || fail "$deb: no $unit"
			for s in postinst prerm; do
				dpkg-deb --ctrl-tarfile "$deb" | tar -xO "./$s" | grep -q '\[ -d /run/systemd/system \]' ||
					fail "$deb: $s does not check for systemd"
			done
		fi
	done
done
echo "check-release: dist/ holds every binary and package of $version"
