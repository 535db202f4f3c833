import { tempEmbeddedStore } from '../test/temp-store.js';
import { datastoreContract } from './contract.js';

datastoreContract('embedded', async () => {
  const { store, cleanup } = tempEmbeddedStore({ pollMs: 10 });
  return { store, cleanup };
}, { leaseTtl: 1 });
