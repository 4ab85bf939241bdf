# shellcheck shell=bash
# Shared by scripts/test and scripts/demo (sourced, not run): find the
# repository, install what is missing, make sure the Go toolchain go.mod asks
# for is the one on PATH.
#
# What it installs, only when missing, non-interactively, with apt (as root,
# or through sudo):
#   prosody, prosody-modules  the private XMPP servers of the tests and the demo
#                             (never run as the system service: see below)
#   redis-server              the private Redis
#   golang-go                 only when there is no `go` at all
# Go itself: with GOTOOLCHAIN=auto a Go 1.21 or newer fetches the toolchain
# named in go.mod through the module proxy. An older Go (Debian 12's golang-go
# is 1.19) cannot, so steward_go_toolchain fetches that same toolchain module
# with it and puts it first on PATH, as Go's own switch would.

STEWARD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export STEWARD_ROOT

: "${GOTOOLCHAIN:=auto}"
export GOTOOLCHAIN

steward_say() { printf '==> %s\n' "$*" >&2; }
steward_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# steward_as_root runs a command as root: directly, or through sudo.
steward_as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		steward_die "need root to run '$*': run as root or install sudo"
	fi
}

# steward_apt_install installs Debian packages without questions and without
# starting their services: Debian's maintainer scripts start prosody and
# redis-server as system services on install, and Steward's scripts use
# private servers only. A policy-rc.d answering 101 ("action not allowed") is
# the standard way to say so; it is removed again right after.
steward_apt_install() {
	command -v apt-get >/dev/null 2>&1 ||
		steward_die "missing: $* (install them yourself: this system has no apt-get)"
	steward_say "installing with apt: $*"
	local made_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		steward_as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
		made_policy=1
	fi
	local rc=0
	steward_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
	if [ "$rc" -eq 0 ]; then
		steward_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" || rc=$?
	fi
	if [ "$made_policy" -eq 1 ]; then
		steward_as_root rm -f /usr/sbin/policy-rc.d
	fi
	[ "$rc" -eq 0 ] || steward_die "apt-get failed (status $rc) installing: $*"
}

# steward_install_deps installs whatever of the above is missing.
steward_install_deps() {
	local missing=()
	if ! command -v prosody >/dev/null 2>&1 || [ ! -x /usr/bin/prosodyctl ]; then
		missing+=(prosody)
	fi
	if [ ! -d /usr/lib/prosody/modules/mod_muc_rtbl ] && ! dpkg -s prosody-modules >/dev/null 2>&1; then
		missing+=(prosody-modules)
	fi
	if ! command -v redis-server >/dev/null 2>&1; then
		missing+=(redis-server)
	fi
	if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
		export PATH="/usr/local/go/bin:$PATH" # the official tarball's place, often not on PATH
	fi
	if ! command -v go >/dev/null 2>&1; then
		missing+=(golang-go)
	fi
	if command -v dpkg >/dev/null 2>&1 && ! dpkg -s ca-certificates >/dev/null 2>&1; then
		missing+=(ca-certificates) # for the module proxy's HTTPS
	fi
	if [ "${#missing[@]}" -gt 0 ]; then
		steward_apt_install "${missing[@]}"
	fi
	steward_go_toolchain
}

# steward_go_wanted prints the Go version go.mod asks for (its toolchain
# line if any, else its go line), e.g. 1.26.8.
steward_go_wanted() {
	local v
	v=$(sed -n 's/^toolchain go\([0-9.]*\).*/\1/p' "$STEWARD_ROOT/go.mod")
	[ -n "$v" ] || v=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$STEWARD_ROOT/go.mod")
	[ -n "$v" ] || steward_die "no go line in $STEWARD_ROOT/go.mod"
	printf '%s\n' "$v"
}

# steward_go_toolchain makes sure `go` can build this module. A Go 1.21 or
# newer switches by itself (GOTOOLCHAIN=auto). An older one is used once to
# download the toolchain module golang.org/toolchain@v0.0.1-goX.Y.Z.OS-ARCH
# from the module proxy (checked against the checksum database), whose bin/
# is then put first on PATH.
steward_go_toolchain() {
	local have major minor
	have=$(cd / && go env GOVERSION 2>/dev/null) || steward_die "'go env GOVERSION' failed: is go installed?"
	have=${have#go}
	major=${have%%.*}
	minor=${have#*.}
	minor=${minor%%[!0-9]*}
	if [ "$major" -gt 1 ] || [ "$minor" -ge 21 ]; then
		return 0 # GOTOOLCHAIN=auto does the rest
	fi
	local want arch tmp json dir
	want=$(steward_go_wanted)
	case "$(uname -m)" in
	x86_64) arch=amd64 ;;
	aarch64 | arm64) arch=arm64 ;;
	i?86) arch=386 ;;
	*) steward_die "unsupported machine $(uname -m) for the Go toolchain download" ;;
	esac
	steward_say "go $have is older than 1.21 and cannot switch toolchains: fetching go$want through the module proxy"
	tmp=$(mktemp -d)
	# Outside the module: an old go cannot parse a three-part go line.
	json=$(cd "$tmp" && GOFLAGS=-mod=mod GO111MODULE=on go mod download -json "golang.org/toolchain@v0.0.1-go$want.linux-$arch") ||
		{
			rm -rf "$tmp"
			steward_die "could not download go$want: $json"
		}
	rm -rf "$tmp"
	dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
	[ -n "$dir" ] && [ -f "$dir/bin/go" ] || steward_die "unexpected answer from go mod download: $json"
	# The module cache drops execute bits; Go's own switch restores them the
	# same way.
	chmod a+x "$dir"/bin/* "$dir"/pkg/tool/*/*
	export PATH="$dir/bin:$PATH"
	unset GOROOT
	steward_say "using $(go version)"
}
