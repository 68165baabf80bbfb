#!/bin/bash
# Install everything paste needs to build and test on Debian 12 (bookworm),
# fetch the lwIP 2.1.3 source tree, and reserve hugepages.
#
# Idempotent: a second run installs nothing, fetches nothing and, when every
# package is present, does not even touch the network.
# Must run as root (apt, sysfs, mount).
#
#   scripts/deps.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say()  { printf 'deps: %s\n' "$*"; }
warn() { printf 'deps: warning: %s\n' "$*" >&2; }
die()  { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	die "must run as root (apt-get install, sysfs writes, mounting hugetlbfs); try: sudo $0"
fi
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12 only"

# Packages, grouped by why paste needs them.
packages=(
	build-essential pkg-config meson ninja-build git     # build
	dpdk dpdk-dev libdpdk-dev                             # DPDK 22.11 (pkg-config libdpdk, dpdk-devbind)
	libpmem-dev                                           # PMDK libpmem (pkg-config libpmem)
	libsystemd-dev                                        # static DPDK link (pkg-config --static paste) needs -lsystemd
	libcmocka-dev                                         # unit/integration test framework
	libsodium-dev                                         # paste-kvs: SipHash keys of its DRAM hash tables
	iproute2 nftables netcat-openbsd curl ca-certificates # netns testbed, faults, clients
	ethtool iputils-ping                                  # testbed offloads off (scripts/testbed.sh), ping test
	python3 python3-scapy                                 # packet crafting in net tests (/usr/bin/python3)
	dpkg-dev                                              # apt-get source (unpacks lwIP)
	procps coreutils jq                                   # test scripts, summary of test results
	redis-server redis-tools wrk gnuplot-nox              # bench/run.sh: Redis baseline, redis-benchmark, wrk, plots
	valgrind linux-perf                                   # bench/run.sh --callgrind, --profile
	nutcracker python3-redis                              # paste-kvs cluster: proxy, RedisCluster client
	libpcap-dev tcpdump socat                             # paste-pcap; packet-log crash test, UDP peers
	clang libfuzzer-14-dev libclang-rt-14-dev             # libFuzzer targets (scripts/fuzz.sh, tests/fuzz/)
	python3-boto3 s3cmd awscli rclone                     # paste-objects: S3 clients (SigV4 cross-checks, tests)
	fuse3                                                 # paste-objects: rclone mount (fusermount3)
	libssl-dev                                            # libcrypto: paste-testpmd's SHA-256, paste-objects' MD5 ETags
)

# apt output goes to a log so that a normal run prints one line per step;
# the log is shown only when apt fails.
log=$(mktemp "${TMPDIR:-/tmp}/paste-deps.XXXXXX.log")
tmpdir=""
cleanup() {
	rm -f "$log"
	if [ -n "$tmpdir" ]; then rm -rf "$tmpdir"; fi
}
trap cleanup EXIT

# Run an apt command quietly; on failure show the end of its output.
apt_quiet() {
	if ! "$@" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		return 1
	fi
}

export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg (e.g. unattended-upgrades) instead of failing.
apt_opts=(-o DPkg::Lock::Timeout=300)

# apt-get update at most once per run, and not at all when the lists were
# refreshed less than an hour ago (unless a new source was just added).
# apt keeps the server's Last-Modified time on the list files, so their
# mtimes say nothing about when we last updated: keep a stamp (the file
# apt's periodic jobs use for the same purpose).
stamp=/var/lib/apt/periodic/update-success-stamp
really_updated=0   # apt-get update has run in this run
sources_changed=0  # a source was added: the lists are stale whatever their age
lists_present() {
	compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}
lists_fresh() {
	[ "$sources_changed" -eq 0 ] && lists_present && [ -f "$stamp" ] &&
		[ -n "$(find "$stamp" -mmin -60 2>/dev/null)" ]
}
apt_update() { # apt_update [force]
	[ "$really_updated" -eq 0 ] || return 0
	if [ "${1:-}" != force ] && lists_fresh; then
		say "apt lists updated < 1 hour ago: skipping apt-get update"
		return 0
	fi
	say "apt-get update"
	apt_quiet apt-get "${apt_opts[@]}" update || return 1
	mkdir -p "$(dirname "$stamp")" && touch "$stamp"
	really_updated=1
}

# --- 1. deb-src, so that apt-get source can fetch lwIP -------------------
# Done before the package step so that one apt-get update covers both.
# apt reads only *.list (one-line format) and *.sources (deb822) files.
debsrc_configured() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && grep -Eq '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && grep -Eiq '^[[:space:]]*Types:.*deb-src' "$f" && return 0
	done
	return 1
}
debsrc_file=/etc/apt/sources.list.d/paste-deb-src.sources
if debsrc_configured; then
	say "deb-src: already configured"
else
	say "deb-src: writing $debsrc_file"
	cat >"$debsrc_file" <<'EOF'
# Added by paste's scripts/deps.sh: source packages, for `apt-get source lwip`.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	sources_changed=1
fi

# --- 2. Packages --------------------------------------------------------
installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}
missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	say "packages: all ${#packages[@]} installed"
else
	say "packages: installing ${missing[*]}"
	apt_update || die "apt-get update failed"
	install_cmd=(apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}")
	if ! apt_quiet "${install_cmd[@]}"; then
		# Lists younger than an hour can still point at versions the mirror
		# no longer has (a point release): refresh once and retry.
		if [ "$really_updated" -eq 0 ]; then
			apt_update force || die "apt-get update failed"
		fi
		apt_quiet "${install_cmd[@]}" || die "apt-get install failed"
	fi
fi

# --- 3. lwIP 2.1.3 source ------------------------------------------------
# paste compiles lwIP itself with its own lwipopts.h (Debian's liblwip is
# built with NO_SYS=0 and single-pbuf TX copies), so it needs the source
# tree. It is never committed (.gitignore: /subprojects/lwip-src/); our
# build description of it (subprojects/packagefiles/lwip-src/meson.build) is
# copied in, as meson's patch_directory would.
lwip_dir="$repo/subprojects/lwip-src"
fetch_lwip() {
	# Sources indexes that were never downloaded (deb-src configured by
	# hand after the last update) need an update even when the lists are fresh.
	if ! compgen -G '/var/lib/apt/lists/*_Sources*' >/dev/null; then
		apt_update force || return 1
	else
		apt_update || return 1
	fi
	tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/paste-lwip.XXXXXX")
	# As root, apt warns that the _apt sandbox user cannot write the
	# download directory; downloading as root is fine here.
	(cd "$tmpdir" && apt_quiet apt-get "${apt_opts[@]}" -o APT::Sandbox::User=root source lwip) ||
		return 1
	local tcp_c
	tcp_c=$(find "$tmpdir" -mindepth 4 -maxdepth 4 -path '*/src/core/tcp.c' -print -quit)
	[ -n "$tcp_c" ] || { echo "no src/core/tcp.c in the unpacked source" >&2; return 1; }
	local tree=${tcp_c%/src/core/tcp.c}
	if ! grep -q '2\.1\.3' <<<"${tree##*/}"; then
		warn "lwIP source is ${tree##*/}, paste expects 2.1.3"
	fi
	mkdir -p "$repo/subprojects"
	rm -rf "$lwip_dir"
	mv "$tree" "$lwip_dir"
	say "lwIP: ${tree##*/} unpacked to subprojects/lwip-src"
}
if [ -f "$lwip_dir/src/core/tcp.c" ]; then
	say "lwIP: subprojects/lwip-src present"
else
	say "lwIP: fetching source with apt-get source lwip"
	fetch_lwip || die "could not fetch the lwIP source (apt-get source lwip)"
fi
cp "$repo/subprojects/packagefiles/lwip-src/meson.build" "$lwip_dir/meson.build"

# --- 4. Hugepages ---------------------------------------------------------
# DPDK wants hugepages for real runs and benchmarks. Tests pass --no-huge, so
# every failure here (containers often forbid sysfs writes and mounts) is a
# warning only.
want_pages=256
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ -r "$nr" ]; then
	have=$(cat "$nr")
	if [ "$have" -ge "$want_pages" ]; then
		say "hugepages: $have x 2 MiB reserved"
	else
		{ echo "$want_pages" >"$nr"; } 2>/dev/null || true
		have=$(cat "$nr")
		if [ "$have" -ge "$want_pages" ]; then
			say "hugepages: reserved $have x 2 MiB"
		else
			warn "hugepages: only $have of $want_pages x 2 MiB reserved (tests use --no-huge)"
		fi
	fi
else
	warn "hugepages: $nr not found (no 2 MiB hugepage support; tests use --no-huge)"
fi

hugetlbfs_mounted() {
	awk '$2 == "/dev/hugepages" && $3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts
}
if hugetlbfs_mounted; then
	say "hugetlbfs: mounted at /dev/hugepages"
elif mkdir -p /dev/hugepages 2>/dev/null &&
	mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages 2>/dev/null; then
	say "hugetlbfs: mounted at /dev/hugepages"
else
	warn "hugetlbfs: could not mount at /dev/hugepages (tests use --no-huge)"
fi

say "done"
