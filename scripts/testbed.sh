#!/bin/bash
# The netns testbed: paste on one end of a veth pair, Linux on the other.
#
#   scripts/testbed.sh up [NAME]                  create it (recreated if present)
#   scripts/testbed.sh down [NAME]                remove it (idempotent)
#   scripts/testbed.sh status [NAME]              show both ends
#   scripts/testbed.sh exec-linux [NAME --] CMD…  run CMD in the Linux namespace
#   scripts/testbed.sh exec-paste [NAME --] CMD…  run CMD in the paste namespace
#                                                 (no CMD: an interactive shell)
#
# NAME (default pst, at most 13 characters of [A-Za-z0-9_]) gives:
#
#   namespace <NAME>-paste   veth <NAME>-p   no kernel address, IPv6 off:
#                                            DPDK's net_af_packet owns it and
#                                            paste's stack answers as 198.18.0.1
#   namespace <NAME>-linux   veth <NAME>-l   198.18.0.2/24, the Linux peers
#
# Both veths: MTU 1500, link up, and checksum offloads, TSO, GSO and GRO off
# (ethtool -K), so af_packet sees every frame whole (never above the MTU)
# and with a real checksum (never a partial one left for the NIC). IPv6 is
# off on both veths so that neither kernel puts router solicitations, MLD
# reports or DAD probes on the wire. The paste-side veth must carry no kernel
# address, or that kernel would answer paste's TCP peers too (with RSTs).
#
# Addresses stay in 198.18.0.0/24 (RFC 2544 benchmarking range) inside the
# two namespaces; nothing is routed anywhere else. Must run as root.
#
# The tests use this script through tests/net/lib.sh (tb_up, tb_down, ...).
set -euo pipefail

TB_PASTE_IP=198.18.0.1
TB_LINUX_IP=198.18.0.2
TB_PREFIX_LEN=24
TB_MTU=1500

prog=testbed
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
say() { [ "${TB_QUIET:-0}" = 1 ] || printf '%s: %s\n' "$prog" "$*"; }

usage() {
	sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

check_name() {
	[[ "$1" =~ ^[A-Za-z0-9_]{1,13}$ ]] ||
		die "bad testbed name '$1' (1..13 characters of [A-Za-z0-9_]: interface names are <NAME>-p, <NAME>-l, 15 at most)"
}

ns_exists() {
	[ -e "/var/run/netns/$1" ]
}

tb_down() {
	local name=$1 ns
	for ns in "$name-paste" "$name-linux"; do
		if ns_exists "$ns"; then
			# Deleting a namespace deletes the veth end inside it, and with
			# it the other end.
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
	# A veth left in the initial namespace by an interrupted 'up'.
	ip link del "$name-p" 2>/dev/null || true
	ip link del "$name-l" 2>/dev/null || true
	if ns_exists "$name-paste" || ns_exists "$name-linux"; then
		die "could not delete namespaces $name-paste / $name-linux"
	fi
	say "down $name"
}

# Turn off what would hand af_packet oversized or partially checksummed
# frames. Each feature separately: a veth may refuse to change one of them
# (fixed), which must not keep the others on.
offloads_off() {
	local ns=$1 ifname=$2 feat
	if ! command -v ethtool >/dev/null; then
		die "ethtool not found (scripts/deps.sh installs it)"
	fi
	for feat in tx rx tso gso gro; do
		nsenter --net="/run/netns/$ns" ethtool -K "$ifname" "$feat" off >/dev/null 2>&1 || true
	done
	# Verify what matters; ethtool -k prints "<feature>: on|off [fixed]".
	local k
	k=$(nsenter --net="/run/netns/$ns" ethtool -k "$ifname")
	for feat in tx-checksumming rx-checksumming tcp-segmentation-offload \
		generic-segmentation-offload generic-receive-offload; do
		if grep -Eq "^$feat: on" <<<"$k"; then
			die "$ifname: $feat is still on"
		fi
	done
}

tb_up() {
	local name=$1
	local nsp="$name-paste" nsl="$name-linux" ifp="$name-p" ifl="$name-l"
	if ns_exists "$nsp" || ns_exists "$nsl"; then
		say "$name exists: recreating it"
		TB_QUIET=1 tb_down "$name"
	fi
	# Undo a half-built testbed if any step fails.
	trap 'TB_QUIET=1 tb_down "$name" || true' ERR
	ip netns add "$nsp"
	ip netns add "$nsl"
	# Each end is created directly inside its namespace.
	ip link add "$ifp" mtu "$TB_MTU" netns "$nsp" type veth \
		peer name "$ifl" mtu "$TB_MTU" netns "$nsl"
	# IPv6 off before the links come up: no DAD, RS or MLD frames ever.
	nsenter --net="/run/netns/$nsp" sysctl -qw "net.ipv6.conf.$ifp.disable_ipv6=1"
	nsenter --net="/run/netns/$nsl" sysctl -qw "net.ipv6.conf.$ifl.disable_ipv6=1"
	offloads_off "$nsp" "$ifp"
	offloads_off "$nsl" "$ifl"
	nsenter --net="/run/netns/$nsl" ip addr add "$TB_LINUX_IP/$TB_PREFIX_LEN" dev "$ifl"
	nsenter --net="/run/netns/$nsp" ip link set lo up
	nsenter --net="/run/netns/$nsl" ip link set lo up
	nsenter --net="/run/netns/$nsp" ip link set "$ifp" up
	nsenter --net="/run/netns/$nsl" ip link set "$ifl" up
	trap - ERR
	# The operational state follows the carrier a moment later (linkwatch):
	# wait for both ends, at most 5 s.
	local i
	for ((i = 0; i < 50; i++)); do
		if nsenter --net="/run/netns/$nsp" ip -o link show dev "$ifp" | grep -q 'state UP' &&
			nsenter --net="/run/netns/$nsl" ip -o link show dev "$ifl" | grep -q 'state UP'; then
			break
		fi
		sleep 0.1
	done
	[ "$i" -lt 50 ] || printf '%s: warning: %s/%s not operationally up after 5 s\n' "$prog" "$ifp" "$ifl" >&2
	# The paste side must have no IPv4 address (ip -4 prints nothing).
	if [ -n "$(nsenter --net="/run/netns/$nsp" ip -4 -o addr show dev "$ifp")" ]; then
		die "$ifp in $nsp has a kernel IPv4 address"
	fi
	say "up $name: $nsp/$ifp (paste, $TB_PASTE_IP, no kernel address)" \
		"<-> $nsl/$ifl ($TB_LINUX_IP/$TB_PREFIX_LEN)"
}

tb_status() {
	local name=$1 ns
	for ns in "$name-paste" "$name-linux"; do
		if ns_exists "$ns"; then
			echo "== $ns"
			nsenter --net="/run/netns/$ns" ip -br addr
		else
			echo "== $ns: absent"
		fi
	done
}

# exec-linux/exec-paste [NAME --] CMD...
tb_exec() {
	local side=$1
	shift
	local name=pst
	if [ "$#" -ge 2 ] && [ "$2" = "--" ]; then
		name=$1
		shift 2
	elif [ "$#" -ge 1 ] && [ "$1" = "--" ]; then
		shift
	elif [ "$#" -eq 1 ] && [[ "$1" =~ ^[A-Za-z0-9_]{1,13}$ ]] && ns_exists "$1-$side"; then
		# exec-linux NAME: a shell in that testbed
		name=$1
		shift
	fi
	check_name "$name"
	ns_exists "$name-$side" || die "namespace $name-$side does not exist (scripts/testbed.sh up $name)"
	if [ "$#" -eq 0 ]; then
		set -- "${SHELL:-/bin/bash}"
	fi
	exec nsenter --net="/run/netns/$name-$side" "$@"
}

[ "$#" -ge 1 ] || usage
cmd=$1
shift
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
case "$cmd" in
up | down | status)
	[ "$#" -le 1 ] || usage
	name=${1:-pst}
	check_name "$name"
	"tb_$cmd" "$name"
	;;
exec-linux) tb_exec linux "$@" ;;
exec-paste) tb_exec paste "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
