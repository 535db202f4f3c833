// Public API of bgpd/pcap: a pure reader for pcap/pcapng captures of BGP sessions. Bytes in; TCP
// streams reassembled per direction; BGP messages out with the context their OPENs negotiated.
export { PcapError, PcapErrorCode } from './errors.js';
export { readFrames, type Frame } from './file.js';
export { decodeFrame, ipv6Text, LinkType, TcpFlag, type TcpSegment } from './packet.js';
export { reassemble, type Endpoint, type StreamDirection, type TcpStream } from './tcp-stream.js';
export { readTcpStreams, readBgpTcpStreams, BGP_PORT } from './capture.js';
export { readBgpMessages, type CapturedItem, type CapturedMessage, type CapturedStreamError, type ReadOptions } from './bgp-stream.js';
