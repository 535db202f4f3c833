#!/bin/sh
# Re-records the golden vectors from real daemons. Needs root and the Debian packages frr, bird2,
# gobgpd, exabgp, tcpdump, tshark, iptables. Usage: test/vectors/record.sh [scenario...]
# (scenarios: frr-bird frr-gobgp bird-gobgp exabgp-frr; default all). See test/vectors/README.md.
set -eu
cd "$(dirname "$0")/../.."
# tsc still emits when another package has a type error; the recorder only needs its own files.
npx tsc -p tsconfig.json || echo "record.sh: tsc reported errors elsewhere; using the emitted JS" >&2
node dist/test/harness/peers/recorder.js test/vectors/pcap "$@"
node dist/test/harness/peers/vectors-extract.js test/vectors/pcap test/vectors
du -sh test/vectors
