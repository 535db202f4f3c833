// CNI attach latency as the runtime sees it: wall time of the plugin process for ADD and for DEL, from
// exec to exit (so the shim's process start, the socket round trip and the agent's work all count).
// `uplink` (shim + agent in a node netns) against the reference `ptp` + `host-local` plugins in the same
// kind of node netns, interleaved pod by pod so machine noise hits both alike. The anchor is ptp +
// host-local measured in this run (earlier on this VM: ADD p50 35-40 ms, p95 42-50 ms).
//
//   npx tsc -p . && node dist/bench/cni.js [iterations]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniRuntime, type NetConfList } from '../test/harness/cni-runtime.js';
import { Netns } from '../test/harness/netns.js';
import { REFERENCE_PLUGINS, TestNode, shimBinDir } from '../cni/test/support.js';

const N = Number(process.argv[2] ?? 60);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

interface Series { add: number[]; del: number[] }

async function attachOnce(rt: CniRuntime, list: NetConfList, id: string, s: Series): Promise<void> {
  const pod = Netns.create('ulc');
  try {
    const plugin = list.plugins[0]!;
    const env = { CNI_CONTAINERID: id, CNI_NETNS: pod.path, CNI_IFNAME: 'eth0' };
    const conf = JSON.stringify(CniRuntime.pluginConfig(list, plugin, undefined));
    const add = await rt.exec(plugin.type, { CNI_COMMAND: 'ADD', ...env }, conf);
    if (add.code !== 0) throw new Error(`${plugin.type} ADD failed: ${add.stdout} ${add.stderr}`);
    const del = await rt.exec(plugin.type, { CNI_COMMAND: 'DEL', ...env }, conf);
    if (del.code !== 0) throw new Error(`${plugin.type} DEL failed: ${del.stdout} ${del.stderr}`);
    s.add.push(add.ms);
    s.del.push(del.ms);
  } finally {
    pod.destroy();
  }
}

async function main(): Promise<void> {
  const uplinkNode = await TestNode.start({ pools: [{ name: 'v4', cidr: '10.90.0.0/16' }, { name: 'v6', cidr: 'fd00:90::/112' }] });
  const uplinkV4Node = await TestNode.start({ pools: [{ name: 'v4', cidr: '10.91.0.0/16' }] });
  const ptpNode = Netns.create('ulc');
  const hostLocalDir = mkdtempSync(join(tmpdir(), 'ulc-hostlocal-'));
  try {
    const bins = [shimBinDir(), REFERENCE_PLUGINS];
    const uplinkRt = uplinkNode.runtime(bins);
    const uplinkV4Rt = uplinkV4Node.runtime(bins);
    const ptpRt = new CniRuntime({ binDirs: bins, hostNetns: ptpNode.path });
    const uplink = uplinkNode.conflist('1.0.0', [uplinkNode.uplinkConf({ mtu: 1500 })]);
    const uplinkV4 = uplinkV4Node.conflist('1.0.0', [uplinkV4Node.uplinkConf({ mtu: 1500 })]);
    const ptp: NetConfList = {
      cniVersion: '1.0.0', name: 'ptp-bench',
      plugins: [{ type: 'ptp', mtu: 1500, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.92.0.0/16' }]], dataDir: hostLocalDir } }],
    };
    const s = { uplink: { add: [], del: [] } as Series, uplinkV4: { add: [], del: [] } as Series, ptp: { add: [], del: [] } as Series };
    // Warm-up: first runs pay page-cache and JIT costs in every component.
    for (let i = 0; i < 3; i++) {
      const w: Series = { add: [], del: [] };
      await attachOnce(uplinkRt, uplink, `warm-u-${i}`, w);
      await attachOnce(uplinkV4Rt, uplinkV4, `warm-u4-${i}`, w);
      await attachOnce(ptpRt, ptp, `warm-p-${i}`, w);
    }
    for (let i = 0; i < N; i++) {
      await attachOnce(ptpRt, ptp, `p-${i}`, s.ptp);
      await attachOnce(uplinkV4Rt, uplinkV4, `u4-${i}`, s.uplinkV4);
      await attachOnce(uplinkRt, uplink, `u-${i}`, s.uplink);
    }
    const line = (name: string, v: number, unit: string): void => console.log(`bench cni ${name}: ${v.toFixed(unit === 'ratio' ? 2 : 1)} ${unit}`);
    console.log(`bench cni iterations: ${N} count`);
    for (const [label, series] of [['ptp_hostlocal_v4', s.ptp], ['uplink_v4', s.uplinkV4], ['uplink_dualstack', s.uplink]] as const) {
      for (const op of ['add', 'del'] as const) {
        for (const p of [50, 95, 99]) line(`${label}_${op}_p${p}`, pct(series[op], p), 'ms');
      }
    }
    for (const op of ['add', 'del'] as const) {
      for (const p of [50, 95]) {
        line(`uplink_v4_vs_ptp_${op}_p${p}`, pct(s.uplinkV4[op], p) / pct(s.ptp[op], p), 'ratio');
        line(`uplink_dualstack_vs_ptp_${op}_p${p}`, pct(s.uplink[op], p) / pct(s.ptp[op], p), 'ratio');
      }
    }
  } finally {
    uplinkNode.destroy();
    uplinkV4Node.destroy();
    ptpNode.destroy();
    rmSync(hostLocalDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
