// tcpdump on an interface inside a Netns, writing a pcap. Used by the recordings and by interop
// tests that want the bytes on the wire for a failure report.
import { existsSync, statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from '../netns.js';
import { killPid, OutputBuffer, sleep, waitFor } from './common.js';

export interface Capture {
  readonly file: string;
  /** Stop tcpdump (SIGTERM so it flushes the file) and wait for it to exit. */
  stop(): Promise<void>;
}

export async function startCapture(ns: Netns, iface: string, file: string, filter = 'tcp port 179'): Promise<Capture> {
  // -U: write each packet as it arrives; -s 0: whole packets (BGP messages must not be cut).
  const child: ChildProcess = ns.spawn('tcpdump', ['-i', iface, '-U', '-s', '0', '-w', file, filter]);
  const out = new OutputBuffer(child);
  await waitFor('tcpdump listening', () => (/listening on/.test(out.text()) ? true : undefined), {
    timeoutMs: 10_000,
    describe: () => out.text(),
    child,
  });
  return {
    file,
    async stop() {
      await sleep(200);
      await killPid(child.pid, 3000);
      await waitFor('pcap written', () => (existsSync(file) && statSync(file).size > 0 ? true : undefined), { timeoutMs: 3000 });
    },
  };
}
