// TEST FIXTURE, not the product: a minimal agent for the CNI tests and bench. It opens the embedded
// datastore in a temp dir, writes the pools it is given, and starts the CNI server, exactly as uplinkd
// will host it. It alone honours the failure-injection variables:
//   UPLINK_TEST_FAIL_AT=<step>     ADD throws before that step (cni/server/handlers.ts AddStep)
//   UPLINK_TEST_CRASH_AFTER=<step> the agent SIGKILLs itself right after that step (crash mid-ADD)
// UPLINK_TEST_SWEEP_AT_START=0 skips the start-up orphan sweep; UPLINK_TEST_DATAPLANE=iproute selects the iproute2 dataplane instead of netlink.
// Other settings: UPLINK_TEST_SOCKET, UPLINK_TEST_STATE_DIR, UPLINK_TEST_NODE, UPLINK_TEST_POOLS (JSON
// array of ipam IpPool). Prints "ready" on stdout once the socket listens.
import { join } from 'node:path';
import { Ipam, openDatastore, putPool, type IpPool } from '../../ipam/index.js';
import { AddStep, IprouteDataplane, NetlinkDataplane, startCniServer, type TestHooks } from './index.js';
import { ipamPort } from './ipam-adapter.js';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`test-agent: ${name} is required`);
  return v;
}

function step(name: string): AddStep | undefined {
  const v = process.env[name];
  if (!v) return undefined;
  if (!(Object.values(AddStep) as string[]).includes(v)) throw new Error(`${name}=${v} is not an ADD step`);
  return v as AddStep;
}

async function main(): Promise<void> {
  const stateDir = need('UPLINK_TEST_STATE_DIR');
  const node = process.env.UPLINK_TEST_NODE ?? 'node-a';
  const store = await openDatastore({ kind: 'embedded', path: join(stateDir, 'ipam.db') });
  for (const p of JSON.parse(process.env.UPLINK_TEST_POOLS ?? '[]') as IpPool[]) await putPool(store, p);
  const ipam = new Ipam(store, { node });
  await ipam.start();
  const hooks: TestHooks = {};
  const failAt = step('UPLINK_TEST_FAIL_AT');
  const crashAfter = step('UPLINK_TEST_CRASH_AFTER');
  if (failAt) hooks.failAt = failAt;
  if (crashAfter) hooks.crashAfter = crashAfter;
  const server = await startCniServer({
    socketPath: need('UPLINK_TEST_SOCKET'),
    ipam: ipamPort(ipam, store, { node }),
    nodeName: node,
    stateDir: join(stateDir, 'attachments'),
    sweepIntervalMs: Number(process.env.UPLINK_TEST_SWEEP_MS ?? 0),
    sweepAtStart: process.env.UPLINK_TEST_SWEEP_AT_START !== '0',
    testHooks: hooks,
    // UPLINK_TEST_DATAPLANE=iproute forces the spawn-based dataplane (both are tested).
    dataplane: process.env.UPLINK_TEST_DATAPLANE === 'iproute' ? new IprouteDataplane() : new NetlinkDataplane(),
  });
  const stop = (): void => {
    void server.close().then(() => store.close()).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`test-agent: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
