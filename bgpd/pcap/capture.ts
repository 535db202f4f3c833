// File bytes -> TCP streams: the pure front half of the reader (no BGP knowledge here).
import { readFrames } from './file.js';
import { decodeFrame, type TcpSegment } from './packet.js';
import { reassemble, type TcpStream } from './tcp-stream.js';

/** Every TCP connection in the capture, reassembled per direction. Throws PcapError on a bad file. */
export function readTcpStreams(file: Uint8Array, filter?: (s: TcpSegment) => boolean): TcpStream[] {
  const segments: TcpSegment[] = [];
  for (const frame of readFrames(file)) {
    const seg = decodeFrame(frame);
    if (seg && (!filter || filter(seg))) segments.push(seg);
  }
  return reassemble(segments);
}

export const BGP_PORT = 179;

/** Only connections to or from TCP port 179 (RFC 4271 §8.2.1). */
export function readBgpTcpStreams(file: Uint8Array, port = BGP_PORT): TcpStream[] {
  return readTcpStreams(file, (s) => s.srcPort === port || s.dstPort === port);
}
