// How `explain` on one node asks the node that owns an address for its half (its peers' acceptance,
// its interfaces), when that node is another machine. The question travels through the datastore,
// which every agent already shares and can reach, so no agent needs a port open to the others:
//
//   asker:  grant lease L (TTL ~ its timeout) -> watch explain/answers/<id>
//           -> create explain/requests/<owner>/<id> {target, lease: L, ...} under L
//   owner:  watches explain/requests/<self>/ only; runs its local steps one request at a time
//           -> create explain/answers/<id> {steps} under the ASKER's lease L
//   asker:  reads the answer (or times out) -> revokes L, which deletes request and answer at once.
//
// Cleanup rests on the one lease the asker owns: if the asker crashes, L expires and both keys vanish;
// if the owner crashes mid-answer, the request expires with L; an owner that answers after the asker
// gave up finds L gone and its create fails (`not-found`), so nothing is written. Nothing here ever
// needs a sweeper.
//
// Bounds: one request in flight per asker (later ones queue, at most MAX_QUEUED_ASKS); the owner keeps
// at most MAX_PENDING requests and answers the rest "busy"; targets and answers have size caps so a
// request can never make the owner write an object the datastore refuses (etcd's default request
// limit is 1.5 MiB, a Kubernetes object's ~1 MiB).
import { randomBytes } from 'node:crypto';
import { UplinkError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { isDatastoreError, type Datastore, type Json, type Lease, type Watch } from '../ipam/index.js';

const log = logger('explain-broker');

export const EXPLAIN_REQUESTS_PREFIX = 'explain/requests/';
export const EXPLAIN_ANSWERS_PREFIX = 'explain/answers/';

/** Longest target accepted (an IP or namespace/pod is far shorter; DNS-1123 names are <= 253). */
export const MAX_TARGET_LENGTH = 512;
/** Largest answer written: well under every backend's object limit. */
export const MAX_ANSWER_BYTES = 256 * 1024;
/** Requests the owner holds at once (one being answered, the rest waiting). */
export const MAX_PENDING = 8;
/** Asks one asker queues behind the one in flight before it refuses. */
export const MAX_QUEUED_ASKS = 8;

export const ExplainBrokerErrorCode = {
  /** The owner did not answer in time: its agent is down, hung, or cannot reach the datastore. */
  Timeout: 'owner-timeout',
  /** The owner answered with an error (including "busy"). */
  OwnerError: 'owner-error',
  /** Too many asks queued on this asker. */
  Busy: 'busy',
  BadRequest: 'bad-request',
  /** The datastore failed while asking. */
  Datastore: 'datastore',
} as const;
export type ExplainBrokerErrorCode = (typeof ExplainBrokerErrorCode)[keyof typeof ExplainBrokerErrorCode];

export class ExplainBrokerError extends UplinkError {
  declare readonly code: ExplainBrokerErrorCode;

  constructor(code: ExplainBrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** What the owner needs to answer; stored at explain/requests/<to>/<id>. */
export interface ExplainRequest {
  id: string;
  from: string;
  to: string;
  target: string;
  /** Skip the ROUTE-REFRESH probe (uplinkctl explain --no-refresh). */
  noRefresh: boolean;
  /** The asker's lease: the answer is created under it, so both vanish together. */
  lease: string;
  /** Epoch ms after which the asker no longer waits: the owner skips a request past it. */
  deadline: number;
}

/** Stored at explain/answers/<id>. `steps` is the owner's result, opaque to the broker. */
export interface ExplainAnswer {
  id: string;
  node: string;
  steps?: Json;
  error?: string;
  answeredAt: string;
}

export interface AskOptions {
  /** How long to wait for the answer (the owner's own route-refresh probe included). */
  timeoutMs: number;
  noRefresh?: boolean;
}

/** The asking side: one per agent (and one per `uplinkctl` run that asks directly). */
export class ExplainAsker {
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;

  constructor(private readonly store: Datastore, private readonly node: string) {}

  /**
   * Ask `owner` to run its local explain steps for `target`. Resolves with its steps; rejects with
   * ExplainBrokerError `owner-timeout` naming the node and the wait, or `owner-error` with its reason.
   */
  ask(owner: string, target: string, opts: AskOptions): Promise<Json> {
    if (!target || target.length > MAX_TARGET_LENGTH) {
      return Promise.reject(new ExplainBrokerError('bad-request', `explain target must be 1..${MAX_TARGET_LENGTH} characters`));
    }
    if (!owner || owner.includes('/')) return Promise.reject(new ExplainBrokerError('bad-request', `"${owner}" is not a node name`));
    // One at a time: an explain storm from one node must not become a request storm on the owner.
    if (this.queued >= MAX_QUEUED_ASKS) {
      return Promise.reject(new ExplainBrokerError('busy', `${this.queued} explain requests already wait on this node; try again in a few seconds`));
    }
    this.queued++;
    const run = this.chain.then(() => this.askOnce(owner, target, opts));
    this.chain = run.catch(() => undefined).finally(() => { this.queued--; });
    return run;
  }

  private async askOnce(owner: string, target: string, opts: AskOptions): Promise<Json> {
    const id = `${this.node}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const answerKey = `${EXPLAIN_ANSWERS_PREFIX}${id}`;
    // The lease outlives our wait by a margin, so the owner's answer cannot vanish while we read it;
    // a crash of ours leaves the keys for at most this long.
    const ttlS = Math.ceil(opts.timeoutMs / 1000) + 2;
    let lease: Lease;
    try {
      lease = await this.store.grantLease(ttlS);
    } catch (err) {
      throw new ExplainBrokerError('datastore', `cannot ask node ${owner}: the datastore refused a lease: ${(err as Error).message}`, { cause: err });
    }
    let watch: Watch<ExplainAnswer> | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      // Watch from before the request exists, so an answer faster than our first poll is not missed.
      const { revision } = await this.store.list(answerKey);
      watch = this.store.watch<ExplainAnswer>(answerKey, revision);
      const req: ExplainRequest = {
        id, from: this.node, to: owner, target, noRefresh: opts.noRefresh === true, lease: lease.id, deadline: Date.now() + opts.timeoutMs,
      };
      await this.store.create(`${EXPLAIN_REQUESTS_PREFIX}${owner}/${id}`, req as unknown as Json, { lease: lease.id });
      const w = watch;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          w.close();
          reject(new ExplainBrokerError('owner-timeout',
            `owner node ${owner} did not answer within ${Math.round(opts.timeoutMs / 100) / 10} s (its agent is down or cannot reach the datastore)`));
        }, opts.timeoutMs);
      });
      const answer = await Promise.race([firstAnswer(w, answerKey), timeout]);
      if (answer.error !== undefined) throw new ExplainBrokerError('owner-error', `node ${owner} could not answer: ${answer.error}`);
      return answer.steps ?? null;
    } catch (err) {
      if (err instanceof ExplainBrokerError) throw err;
      throw new ExplainBrokerError('datastore', `asking node ${owner} through the datastore failed: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
      watch?.close();
      // Deletes the request and the answer in one step (both are under this lease).
      await lease.revoke().catch((err: unknown) => log.debug({ err }, 'explain lease revoke'));
    }
  }
}

async function firstAnswer(w: Watch<ExplainAnswer>, key: string): Promise<ExplainAnswer> {
  for await (const ev of w) if (ev.type === 'put' && ev.key === key) return ev.value;
  // The watch ended (closed by the timeout): the timeout's rejection wins the race.
  return new Promise<never>(() => undefined);
}

export type ExplainHandler = (req: ExplainRequest) => Promise<Json>;

/**
 * The owner's side: watches explain/requests/<node>/ and answers each request with `handler`'s result,
 * one at a time. Only requests addressed to this node are read (the watch prefix) and answered (the
 * `to` field is checked again, the key may have been written by anything with datastore access).
 */
export class ExplainResponder {
  private watch: Watch<ExplainRequest> | undefined;
  private stopped = false;
  private readonly pending: ExplainRequest[] = [];
  private readonly seen = new Set<string>();
  private working = false;
  private retry: NodeJS.Timeout | undefined;
  /** Requests answered (or refused) so far, for tests and status. */
  answered = 0;

  constructor(private readonly store: Datastore, private readonly node: string, private readonly handler: ExplainHandler) {}

  private get prefix(): string {
    return `${EXPLAIN_REQUESTS_PREFIX}${this.node}/`;
  }

  /** Never fails: a datastore that cannot be read yet is retried every second (explain is not vital). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.follow().catch((err: unknown) => this.retryLater(err));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.watch?.close();
    this.pending.length = 0;
  }

  /** List what is waiting (requests sent while we were down or re-listing), then watch from there. */
  private async follow(): Promise<void> {
    const { items, revision } = await this.store.list<ExplainRequest>(this.prefix);
    for (const i of items) this.enqueue(i.key, i.value);
    if (this.stopped) return;
    const w = (this.watch = this.store.watch<ExplainRequest>(this.prefix, revision));
    void (async () => {
      try {
        for await (const ev of w) if (ev.type === 'put') this.enqueue(ev.key, ev.value);
      } catch (err) {
        if (this.stopped) return;
        // Compaction, or the datastore went away: list again and resume (requests are idempotent by id).
        this.retryLater(err);
      }
    })();
  }

  private retryLater(err: unknown): void {
    if (this.stopped) return;
    log.warn({ err }, 'explain requests cannot be read from the datastore; retrying in 1 s');
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.follow().catch((e: unknown) => this.retryLater(e)), 1000);
    this.retry.unref();
  }

  private enqueue(key: string, req: ExplainRequest): void {
    if (this.stopped || !req || typeof req !== 'object' || typeof req.id !== 'string') return;
    if (key !== `${this.prefix}${req.id}` || req.to !== this.node) return;
    if (this.seen.has(req.id)) return;
    this.seen.add(req.id);
    if (this.seen.size > 1000) this.seen.delete(this.seen.values().next().value!);
    if (this.pending.length >= MAX_PENDING) {
      void this.reply(req, { error: `node ${this.node} is busy (${this.pending.length} explain requests waiting); try again in a few seconds` });
      return;
    }
    this.pending.push(req);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      for (let req = this.pending.shift(); req && !this.stopped; req = this.pending.shift()) {
        // The asker stopped waiting: answering would only spend a route refresh on nobody.
        if (Date.now() > req.deadline) continue;
        if (typeof req.target !== 'string' || !req.target || req.target.length > MAX_TARGET_LENGTH) {
          await this.reply(req, { error: `bad target (1..${MAX_TARGET_LENGTH} characters)` });
          continue;
        }
        let result: { steps?: Json; error?: string };
        try {
          result = { steps: await this.handler(req) };
        } catch (err) {
          result = { error: (err as Error).message };
        }
        await this.reply(req, result);
      }
    } finally {
      this.working = false;
    }
  }

  private async reply(req: ExplainRequest, result: { steps?: Json; error?: string }): Promise<void> {
    let answer: ExplainAnswer = { id: req.id, node: this.node, ...result, answeredAt: new Date().toISOString() };
    const size = Buffer.byteLength(JSON.stringify(answer));
    if (size > MAX_ANSWER_BYTES) {
      answer = { id: req.id, node: this.node, error: `the answer (${size} bytes) exceeds ${MAX_ANSWER_BYTES} bytes`, answeredAt: answer.answeredAt };
    }
    try {
      await this.store.create(`${EXPLAIN_ANSWERS_PREFIX}${req.id}`, answer as unknown as Json, { lease: req.lease });
      this.answered++;
    } catch (err) {
      // not-found: the asker's lease is gone (it gave up or crashed) and its keys with it. exists: a
      // duplicate delivery after a re-list. Neither leaves anything to clean up.
      if (!isDatastoreError(err, 'not-found') && !isDatastoreError(err, 'exists')) log.warn({ err, id: req.id }, 'could not write explain answer');
    }
  }
}
