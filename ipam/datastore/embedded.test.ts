import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datastoreContract } from './contract.js';
import { EmbeddedDatastore } from './embedded.js';

datastoreContract('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-ds-'));
  const store = new EmbeddedDatastore({ kind: 'embedded', path: join(dir, 'ipam.db'), pollMs: 10 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, { leaseTtl: 1 });
