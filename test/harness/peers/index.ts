// Real BGP daemons from Debian's packages, run inside a Netns for interop tests and recordings.
export { startFrr, FrrPeer, type FrrOptions } from './frr.js';
export { startBird, BirdPeer, type BirdOptions } from './bird.js';
export { startGobgp, GobgpPeer, type GobgpOptions } from './gobgp.js';
export { startExabgp, ExabgpPeer, EXABGP_API_PROCESS, type ExabgpOptions, type ExabgpMessage } from './exabgp.js';
export { PeerError, PeerErrorCode, waitFor, sleep, type Peer } from './common.js';
export { startCapture, type Capture } from './capture.js';
