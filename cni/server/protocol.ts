// The shim <-> agent framing (see cni/shim/uplink.c): the request is "KEY=VALUE\n" lines for the CNI_*
// variables, an empty line, then the config from stdin; the reply is "<exit code>\n" then stdout.
import { CniCode, CniError } from '../errors.js';

export interface ShimRequest {
  env: Record<string, string>;
  stdin: string;
}

export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export function decodeRequest(buf: Buffer): ShimRequest {
  // With no CNI_* variables at all the request starts with the blank line itself.
  const sep = buf[0] === 0x0a ? -1 : buf.indexOf('\n\n');
  if (sep < 0 && buf[0] !== 0x0a) {
    throw new CniError(CniCode.DecodeFailure, 'malformed request from the uplink shim', 'no blank line between parameters and config');
  }
  const env: Record<string, string> = {};
  if (sep >= 0) {
    for (const line of buf.subarray(0, sep).toString('utf8').split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return { env, stdin: buf.subarray(sep < 0 ? 1 : sep + 2).toString('utf8') };
}

export function encodeReply(exitCode: number, stdout: string): string {
  return `${exitCode}\n${stdout}`;
}
