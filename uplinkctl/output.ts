// Rendering for uplinkctl: -o json | yaml | table (default table). Colour only when stdout is a terminal
// and NO_COLOR is unset, so piped output stays plain.
import { styleText } from 'node:util';
import Table from 'cli-table3';
import { stringify } from 'yaml';

export type OutputFormat = 'json' | 'yaml' | 'table';

export function parseFormat(v: string): OutputFormat {
  if (v === 'json' || v === 'yaml' || v === 'table') return v;
  throw new Error(`unknown output format "${v}": use json, yaml or table`);
}

const colourOn = (): boolean => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;

type Style = Parameters<typeof styleText>[0];
export function paint(style: Style, text: string): string {
  return colourOn() ? styleText(style, text) : text;
}

/** Colour a state word the way an operator reads it: green is fine, red needs attention. */
export function stateColour(state: string): string {
  const s = state.toLowerCase();
  if (['established', 'up', 'ok', 'leader', 'true', 'installed'].includes(s)) return paint('green', state);
  if (['idle', 'down', 'problem', 'error', 'false', 'missing', 'active'].includes(s)) return paint('red', state);
  return paint('yellow', state);
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | undefined | null;
  state?: boolean;
}

export function renderTable<T>(rows: T[], columns: Column<T>[]): string {
  const table = new Table({ head: columns.map((c) => c.header), style: { head: colourOn() ? ['cyan'] : [], border: [] } });
  for (const r of rows) {
    table.push(columns.map((c) => {
      const v = c.value(r);
      const s = v === undefined || v === null ? '-' : String(v);
      return c.state ? stateColour(s) : s;
    }));
  }
  return table.toString();
}

export function print(data: unknown, format: OutputFormat, table: () => string): void {
  if (format === 'json') process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') process.stdout.write(stringify(data));
  else process.stdout.write(`${table()}\n`);
}
