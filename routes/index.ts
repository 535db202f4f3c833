// routes: the node's FIB writer. See DESIGN.md.
export { FibReconciler, SyncKind } from './reconciler.js';
export type { ReconcilerOptions, ReconcilerEvents, SyncResult } from './reconciler.js';
export { LockFileElector, PollingElector, LeaderError, LeaderErrorCode } from './leader.js';
export type { LeaderElector, LeaderEvents, PollingOptions } from './leader.js';
export { routeKey, normalize, normalizeKernel, satisfies } from './route.js';
export type { NormRoute, NormNextHop } from './route.js';
export * from './netlink/index.js';
