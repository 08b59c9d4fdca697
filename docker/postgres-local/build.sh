#!/bin/bash
# Build the kit's PostgreSQL image from Debian's packages, with no registry:
#
#   docker/postgres-local/build.sh [TAG]       (default TAG: postgres:15-local)
#   docker/postgres-local/build.sh --recipe    print the recipe id (changes with these files)
#
# debootstrap makes a minimal Debian bookworm root file system with postgresql-15,
# everything a disposable server doesn't need is dropped (docs, man pages, locales,
# apt, the JIT compiler, Debian's own cluster, Perl, iconv modules),
# the entrypoint here is added, and `docker import` turns it into an image whose
# interface is the official image's (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB).
# The build directory is under /var/tmp and removed afterwards. Needs root,
# debootstrap and a Debian mirror (DEBIAN_MIRROR, default: the one apt uses).
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
recipe=$(cat "$here/build.sh" "$here/docker-entrypoint.sh" | sha256sum | cut -c1-12)
if [ "${1:-}" = --recipe ]; then
	echo "$recipe"
	exit 0
fi
tag=${1:-postgres:15-local}
suite=bookworm
pgver=15

mirror() {
	if [ -n "${DEBIAN_MIRROR:-}" ]; then
		echo "$DEBIAN_MIRROR"
		return
	fi
	# The first Debian archive apt already uses (deb822 or one-line format).
	local found
	found=$(sed -n 's|^URIs: *\(\S*/debian\)/*$|\1|p; s|^deb \(\[[^]]*\] \)\?\(\S*/debian\)/* .*|\2|p' \
		/etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n1)
	echo "${found:-http://deb.debian.org/debian}"
}

work=$(mktemp -d /var/tmp/migrationlab-pgimage.XXXXXX)
root=$work/root
cleanup() {
	# Never remove through a mount debootstrap may have left (proc, sys, dev).
	grep -o " $root/\S*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "building $tag from Debian $suite's postgresql-$pgver (debootstrap, about a minute)..." >&2
if ! debootstrap --variant=minbase --include="postgresql-$pgver" "$suite" "$root" "$(mirror)" \
	>"$work/debootstrap.log" 2>&1; then
	echo "error: debootstrap failed: $(grep -E '^E:|rror' "$work/debootstrap.log" | tail -n1)" >&2
	exit 1
fi
# A package's maintainer script must not have left a server running in the root.
for proc in /proc/[0-9]*; do
	if [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ]; then
		kill -KILL "${proc#/proc/}" 2>/dev/null || true
	fi
done

# Slim: a disposable server needs none of this, and a small image starts fast on vfs.
lib=$(cd "$root" && echo usr/lib/*-linux-gnu)  # the multiarch directory
(
	cd "$root"
	rm -rf usr/share/doc/* usr/share/man/* usr/share/info/* usr/share/locale/* usr/share/i18n \
		usr/share/lintian usr/share/bug usr/share/common-licenses \
		var/cache/apt/* var/lib/apt/lists/* var/cache/debconf/*-old var/log/* \
		"var/lib/postgresql/$pgver" "etc/postgresql/$pgver" \
		"usr/lib/postgresql/$pgver/lib/bitcode" "usr/lib/postgresql/$pgver/lib/llvmjit"* \
		"$lib"/libLLVM-* "$lib"/libz3.so* \
		usr/share/perl "$lib/perl" "$lib"/libperl.so* "$lib/perl-base" usr/bin/perl* \
		"$lib/gconv" usr/lib/apt usr/bin/apt* "$lib"/libapt-* etc/apt var/lib/apt var/cache/apt
	# There is no JIT provider left to try.
	sed -i 's/^#jit = on\b.*/jit = off/' "usr/share/postgresql/$pgver/postgresql.conf.sample"
	# postgresql-common's wrappers are Perl: point the client commands at the binaries.
	for cmd in usr/bin/*; do
		if [ "$(readlink "$cmd")" = ../share/postgresql-common/pg_wrapper ] \
			&& [ -x "usr/lib/postgresql/$pgver/bin/${cmd#usr/bin/}" ]; then
			ln -sf "../lib/postgresql/$pgver/bin/${cmd#usr/bin/}" "$cmd"
		fi
	done
)
install -D -m 0755 "$here/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
install -d -m 0755 "$root/docker-entrypoint-initdb.d"
# Every library the server links is still there.
chroot "$root" "/usr/lib/postgresql/$pgver/bin/postgres" --version >/dev/null

echo "importing $(du -sh "$root" | cut -f1) as $tag..." >&2
tar --numeric-owner -C "$root" -c . | docker import \
	-c "ENV PATH=/usr/lib/postgresql/$pgver/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	-c 'ENV PGDATA=/var/lib/postgresql/data' \
	-c 'ENV LANG=C.UTF-8' \
	-c 'EXPOSE 5432' \
	-c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
	-c 'CMD ["postgres"]' \
	-c "LABEL migrationlab.recipe=$recipe" \
	-m "PostgreSQL $pgver from Debian $suite packages (alembic-migration-lab docker/postgres-local)" \
	- "$tag" >/dev/null
echo "built $tag" >&2
