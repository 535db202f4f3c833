// Per-node single writer. Only the leader touches the kernel FIB; a standby keeps its desired state
// and takes over when the leader goes away.
//
// The interface is deliberately small (acquire / renew / release + events) so that the etcd and
// Kubernetes Lease backends (built on ipam's datastore lease primitive) only implement three calls;
// `PollingElector` drives them on timers.
import { EventEmitter } from 'node:events';
import { closeSync, fstatSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { UplinkError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { native } from './netlink/native.js';
import { ERRNO, errnoName } from './netlink/errors.js';

export const LeaderErrorCode = { Lock: 'LEADER_LOCK' } as const;

export class LeaderError extends UplinkError {}

export interface LeaderEvents {
  elected: [];
  lost: [reason: string];
  error: [Error];
}

export interface LeaderElector extends EventEmitter<LeaderEvents> {
  readonly identity: string;
  readonly isLeader: boolean;
  /** One attempt to become leader; true when we hold leadership afterwards. */
  acquire(): Promise<boolean>;
  /** Confirms we still hold leadership; false (and a 'lost' event) when we do not. */
  renew(): Promise<boolean>;
  /** Gives leadership up (a standby can take over at once). */
  release(): Promise<void>;
  /** Campaign: acquire until elected, then renew; emits 'elected'/'lost'. */
  start(): void;
  /** Stops campaigning and releases. */
  stop(): Promise<void>;
}

export interface PollingOptions {
  identity?: string;
  /** How often a standby retries acquire (and the leader renews). Takeover happens within this. */
  intervalMs?: number;
}

/** Runs a backend's acquire/renew on a timer and turns results into events. */
export abstract class PollingElector extends EventEmitter<LeaderEvents> implements LeaderElector {
  readonly identity: string;
  protected leader = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  protected readonly intervalMs: number;
  protected readonly log = logger('routes.leader');

  constructor(opts: PollingOptions = {}) {
    super();
    this.identity = opts.identity ?? `${hostname()}/${process.pid}`;
    this.intervalMs = opts.intervalMs ?? 1000;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  protected abstract tryAcquire(): Promise<boolean>;
  protected abstract tryRenew(): Promise<boolean>;
  protected abstract doRelease(): Promise<void>;

  async acquire(): Promise<boolean> {
    if (this.leader) return true;
    if (await this.tryAcquire()) {
      this.leader = true;
      this.log.info({ identity: this.identity }, 'elected FIB writer');
      this.emit('elected');
    }
    return this.leader;
  }

  async renew(): Promise<boolean> {
    if (!this.leader) return false;
    if (await this.tryRenew()) return true;
    this.leader = false;
    this.log.warn({ identity: this.identity }, 'lost FIB writer leadership');
    this.emit('lost', 'renew failed');
    return false;
  }

  async release(): Promise<void> {
    const was = this.leader;
    this.leader = false;
    await this.doRelease();
    if (was) this.emit('lost', 'released');
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async (): Promise<void> => {
      try {
        if (this.leader) await this.renew();
        else await this.acquire();
      } catch (err) {
        this.emit('error', err as Error);
      }
      if (this.running) this.timer = setTimeout(() => void tick(), this.intervalMs);
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.release();
  }
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/**
 * Local backend: an exclusive flock(2) on a lock file. The kernel drops the lock the moment the holder
 * dies (any way, even SIGKILL), so a standby polling every `intervalMs` takes over within that time;
 * no clock or lease expiry is involved. The holder's identity is written into the file for operators.
 * renew() also checks that the path still names the file we locked (someone deleting the lock file
 * must not give us two leaders).
 */
export class LockFileElector extends PollingElector {
  private fd: number | undefined;

  constructor(readonly path: string, opts: PollingOptions = {}) {
    super(opts);
  }

  protected async tryAcquire(): Promise<boolean> {
    const fd = openSync(this.path, 'a+', 0o644);
    const rc = native().flock(fd, LOCK_EX | LOCK_NB);
    if (rc !== 0) {
      closeSync(fd);
      if (rc === ERRNO.EWOULDBLOCK) return false;
      throw new LeaderError(LeaderErrorCode.Lock, `flock ${this.path}: ${errnoName(rc)}`);
    }
    // The file may have been unlinked between open and flock by a previous holder's cleanup.
    if (!this.sameFile(fd)) {
      closeSync(fd);
      return false;
    }
    this.fd = fd;
    ftruncateSync(fd, 0);
    writeSync(fd, `${JSON.stringify({ identity: this.identity, pid: process.pid, since: new Date().toISOString() })}\n`);
    return true;
  }

  private sameFile(fd: number): boolean {
    try {
      const a = fstatSync(fd);
      const b = statSync(this.path);
      return a.ino === b.ino && a.dev === b.dev;
    } catch {
      return false;
    }
  }

  protected async tryRenew(): Promise<boolean> {
    if (this.fd === undefined) return false;
    if (this.sameFile(this.fd)) return true;
    closeSync(this.fd);
    this.fd = undefined;
    return false;
  }

  protected async doRelease(): Promise<void> {
    if (this.fd === undefined) return;
    native().flock(this.fd, LOCK_UN);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
