#!/usr/bin/env bash
# Uplink's quick start: the default fabric (2 spines, 2 racks x 2 ToRs, 4 dual-homed nodes running
# uplinkd, FRR on the routers, one shared embedded datastore) as network namespaces on this host,
# two pods per node attached through the Uplink CNI plugin, a cross-rack ping, and the cluster view.
#   ./scripts/lab.sh          bootstrap, build the lab, add pods, show it working (idempotent)
#   ./scripts/lab.sh down     remove pods, agents' state, namespaces and processes
# Run as root on Debian 12 with Node.js 20. The generated lab lives in .lab/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODEL=${UPLINK_LAB_MODEL:-topology/examples/default.yaml}
LAB_DIR=$ROOT/.lab
LAB=$(sed -n 's/^name: *//p' "$MODEL" | head -1)
TOPO=$LAB_DIR/$LAB.clab.yml
lab() { node dist/containerlab/cli.js "$@"; }

case "${1:-up}" in
  down)
    if [ -f "$TOPO" ] && [ -f dist/containerlab/cli.js ]; then
      lab down -t "$TOPO"
    else
      echo "lab.sh: no lab in $LAB_DIR"
    fi
    exit 0
    ;;
  up) ;;
  *)
    echo "usage: $0 [up|down]" >&2
    exit 2
    ;;
esac

./scripts/bootstrap.sh

echo "== generating $LAB from $MODEL into .lab/"
node dist/topology/cli.js lab -f "$MODEL" -o "$LAB_DIR" --agent-root "$LAB_DIR/agents" >/dev/null

echo "== bringing the lab up (namespaces clab-$LAB-*)"
lab up -t "$TOPO"
lab wait -t "$TOPO" --timeout 120000

NODES=$(node -e 'const y=require("yaml");const t=y.parse(require("fs").readFileSync(process.argv[1],"utf8"));for(const r of t.racks)for(const n of r.nodes)console.log(n.name+" "+r.name)' "$MODEL")
echo "== pods (two per node, through the CNI plugin)"
while read -r node rack; do
  for p in web1 web2; do lab pod add -t "$TOPO" "$node" "$p"; done
done <<<"$NODES"

# A pod on the first rack pings a pod on the last rack (and back): routes learned over BGP.
first=$(echo "$NODES" | head -1)
last=$(echo "$NODES" | tail -1)
src_node=${first%% *} dst_node=${last%% *}
pod_field() { lab pod list -t "$TOPO" | awk -v n="$1" -v p="$2" -v f="$3" '$1==n && $2==p {print $f}'; }
src_ns=$(pod_field "$src_node" web1 4) dst_ip=$(pod_field "$dst_node" web1 3)
dst_ns=$(pod_field "$dst_node" web1 4) src_ip=$(pod_field "$src_node" web1 3)
src_ip=${src_ip%%,*} dst_ip=${dst_ip%%,*}
echo "== cross-rack ping: $src_node/web1 ($src_ip, ${first#* }) -> $dst_node/web1 ($dst_ip, ${last#* })"
for _ in $(seq 1 30); do
  ip netns exec "$src_ns" ping -c 1 -W 1 "$dst_ip" >/dev/null 2>&1 && break
  sleep 1
done
ip netns exec "$src_ns" ping -c 3 -i 0.2 -W 2 "$dst_ip"
echo "== and back: $dst_node/web1 -> $src_node/web1"
ip netns exec "$dst_ns" ping -c 3 -i 0.2 -W 2 "$src_ip"

ctl() { NO_COLOR=1 node dist/uplinkctl/main.js -c "$LAB_DIR/$src_node/uplinkd.yaml" -s "$LAB_DIR/agents/$src_node/run/control.sock" "$@"; }
# The table is read from the datastore, where each agent writes its status every few seconds: wait
# until every node has published its block and Established sessions, so the table shows the lab as it is.
for _ in $(seq 1 30); do
  ctl -o json status --all-nodes 2>/dev/null | node -e '
    const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const ok = s.length > 0 && s.every((n) => n.blocks.length > 0 && n.sessions.length > 0 && n.sessions.every((x) => x.state === "Established"));
    process.exit(ok ? 0 : 1);' && break
  sleep 1
done
echo "== uplinkctl status --all-nodes"
ctl status --all-nodes

cat <<MSG

The lab is up. Try:
  node dist/containerlab/cli.js status -t $TOPO
  node dist/containerlab/cli.js exec -t $TOPO tor1a vtysh -c 'show bgp summary'
  node dist/containerlab/cli.js pod list -t $TOPO
  node dist/uplinkctl/main.js -c .lab/$src_node/uplinkd.yaml -s .lab/agents/$src_node/run/control.sock status --all-nodes
Take it down (pods, agents' state, namespaces, processes): ./scripts/lab.sh down
MSG
