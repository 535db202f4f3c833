// The RIB's int -> int hash map lives in lib/ (the FIB reconciler's prefix table uses it too).
export { IntMap } from '../../lib/int-map.js';
