// A throwaway embedded (SQLite) datastore in its own temporary directory, for ipam/'s tests; cleanup()
// closes it and removes the directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDatastore } from '../datastore/embedded.js';
import type { EmbeddedConfig } from '../datastore/types.js';

export interface TempStore {
  /** The config the store was opened with: other processes open the same file with it. */
  readonly config: EmbeddedConfig;
  readonly store: EmbeddedDatastore;
  cleanup(): Promise<void>;
}

export function tempEmbeddedStore(opts: { pollMs?: number } = {}): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-ipam-'));
  const config: EmbeddedConfig = { kind: 'embedded', path: join(dir, 'ipam.db'), ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }) };
  const store = new EmbeddedDatastore(config);
  return {
    config,
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
