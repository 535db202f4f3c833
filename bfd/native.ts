// Loads uplink_bfd (native/bfd, built by node-gyp from the repo's binding.gyp). The addon owns the
// sockets and the clock-critical loop; see native/bfd/engine.h for the split.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BfdError, BfdErrorCode } from './errors.js';

export interface NativeRxEvent {
  kind: 'rx';
  /** Session the engine demultiplexed the datagram to (§6.8.6 rules), -1 when none matched. */
  id: number;
  tUs: number;
  data: Buffer;
  /** IPv4 TTL or IPv6 hop limit from IP_RECVTTL / IPV6_RECVHOPLIMIT; -1 if the kernel gave none. */
  ttl: number;
  src: Buffer;
  srcPort: number;
  dst: Buffer | null;
  ifindex: number;
  localPort: number;
}

export interface NativeExpireEvent {
  kind: 'expire';
  id: number;
  tUs: number;
}

export type NativeEvent = NativeRxEvent | NativeExpireEvent;

export interface NativeOpenSpec {
  netns: string | null;
  peer: Buffer;
  local: Buffer | null;
  ifname: string | null;
  multihop: boolean;
  localDisc: number;
  /** Expected auth section of received packets (Simple Password), or null. */
  auth: Buffer | null;
}

export interface NativeTxLog {
  /** CLOCK_MONOTONIC microseconds: when each transmission was due and when sendto() returned. */
  due: Float64Array;
  sent: Float64Array;
  count: number;
  errors: number;
}

export interface NativeBfdIo {
  open(id: number, spec: NativeOpenSpec): { srcPort: number; ifindex: number };
  close(id: number): void;
  setTx(id: number, packet: Buffer, intervalUs: number, multOne: boolean): boolean;
  /** Returns 0 or the errno of sendto(). */
  sendNow(id: number, packet: Buffer): number;
  setDetect(id: number, detectUs: number): boolean;
  txLog(id: number): NativeTxLog | null;
  counters(id: number): { tx: number; txErrors: number } | null;
  nowUs(): number;
  /** How the engine thread got scheduled: "fifo", "nice" or "normal" (see native/bfd/engine.cc Run). */
  sched(): string;
  stop(): void;
}

interface Addon {
  BfdIo: new (onEvent: (ev: NativeEvent) => void) => NativeBfdIo;
}

const here = dirname(fileURLToPath(import.meta.url));
let addon: Addon | undefined;

export function loadNative(): Addon {
  if (addon) return addon;
  // bfd/ -> repo root; dist/bfd/ -> repo root.
  const path = ['..', '../..'].map((up) => join(here, up, 'build', 'Release', 'uplink_bfd.node')).find((p) => existsSync(p));
  try {
    if (!path) throw new Error('build/Release/uplink_bfd.node not found');
    addon = createRequire(import.meta.url)(path) as Addon;
    return addon;
  } catch (err) {
    throw new BfdError(BfdErrorCode.NotBuilt, `uplink_bfd addon not built: run npm ci (needs g++, make, python3) [${(err as Error).message}]`, {
      cause: err,
    });
  }
}
