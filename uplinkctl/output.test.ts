// uplinkctl's rendering: -o yaml|json give the same data; colour only on a terminal without NO_COLOR,
// so a pipe or a log file never gets escape codes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { paint, print, renderTable, stateColour } from './output.js';

const ESC = '\u001b[';
const tty = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');

function capture(fn: () => void): string {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return out;
}

function setTty(on: boolean): void {
  Object.defineProperty(process.stdout, 'isTTY', { value: on, configurable: true });
}

afterEach(() => {
  if (tty) Object.defineProperty(process.stdout, 'isTTY', tty);
  else delete (process.stdout as { isTTY?: boolean }).isTTY;
  vi.unstubAllEnvs();
});

describe('uplinkctl output', () => {
  const data = [{ peer: '10.0.1.0', state: 'Established', prefixes: 3, lastError: null }];

  it('-o yaml and -o json carry the same data', () => {
    const y = capture(() => print(data, 'yaml', () => 'table'));
    const j = capture(() => print(data, 'json', () => 'table'));
    expect(parse(y)).toEqual(data);
    expect(JSON.parse(j)).toEqual(data);
    expect(capture(() => print(data, 'table', () => 'the table'))).toBe('the table\n');
  });

  it('colours state words on a terminal, never in a pipe or with NO_COLOR', () => {
    vi.stubEnv('NO_COLOR', '');
    delete process.env.NO_COLOR;
    setTty(true);
    expect(stateColour('Established')).toContain(ESC);
    expect(paint('red', 'x')).toContain(ESC);
    expect(renderTable(data, [{ header: 'STATE', value: (r) => r.state, state: true }])).toContain(ESC);
    setTty(false);
    expect(stateColour('Established')).toBe('Established');
    expect(renderTable(data, [{ header: 'STATE', value: (r) => r.state, state: true }])).not.toContain(ESC);
    setTty(true);
    vi.stubEnv('NO_COLOR', '1');
    expect(stateColour('Idle')).toBe('Idle');
  });
});
