#!/usr/bin/env bash
# Installs everything Uplink's lab and tests need on a fresh Debian 12 machine with Node.js 20, as root:
# Debian packages (BGP peers, etcd, podman, CNI reference plugins, capture tools), npm dependencies,
# the native addon and CNI shim (built from source by npm's install step), the TypeScript build, and the
# route-protocol name so `ip route` shows "proto uplink". Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "bootstrap: must run as root (it installs Debian packages and creates network namespaces)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "bootstrap: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

PACKAGES=(
  # BGP peers for interop tests and the lab's routers
  frr bird2 gobgpd exabgp
  # datastore backend under test
  etcd-server etcd-client
  # a real container runtime for the CNI plugin (runc: crun fails on this VM's cgroups)
  podman runc containernetworking-plugins busybox-static
  # namespaces, captures, and the toolchain for the native addon and CNI shim
  iproute2 iputils-ping tcpdump tshark procps psmisc
  python3 make g++ libmnl-dev
  # promtool validates the alert rules
  prometheus
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts these from their packages where an init system runs; the tests and the lab start their
# own instances in namespaces, so stop any system-wide ones that would hold ports or files.
for svc in frr bird etcd prometheus gobgpd; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

# Name Uplink's route protocol number for iproute2 (routes/netlink/constants.ts UPLINK_RT_PROTO).
mkdir -p /etc/iproute2/rt_protos.d
echo "77 uplink" > /etc/iproute2/rt_protos.d/uplink.conf

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci (builds the native addon and the CNI shim, compiles TypeScript)"
  npm ci --no-audit --no-fund
else
  npm run build --silent
fi
echo "bootstrap: ready"
