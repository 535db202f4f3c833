// containerlab's JSON schema (copied into this folder, see ORIGIN.md) compiled with ajv.
// The schema says draft-07 but uses one 2020-12 keyword, `prefixItems` (link endpoints). Under
// draft-07 rules ajv would ignore it; we define it with its 2020-12 meaning — each listed item
// validated by the subschema at its position — which draft-07 spells `items: [...]`. So nothing
// in the schema is dropped. ajv's strict mode only lints the schema's style here (missing `type`
// next to `pattern`, unused `additionalItems`); those notes are collected, not fatal.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';

export const SCHEMA_FILE = join(import.meta.dirname, 'clab.schema.json');

let compiled: ValidateFunction | undefined;
export const schemaLint: string[] = [];

export function clabValidator(): ValidateFunction {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  const note = (...m: unknown[]): void => void schemaLint.push(m.map(String).join(' '));
  const ajv = new Ajv({ allErrors: true, strict: 'log', logger: { log: note, warn: note, error: note } });
  ajv.addKeyword('markdownDescription');
  ajv.addKeyword({
    keyword: 'prefixItems',
    type: 'array',
    macro: (items: unknown) => ({ items }),
    metaSchema: { type: 'array', items: { type: 'object' } },
  });
  compiled = ajv.compile(schema);
  return compiled;
}

/** Validate a .clab.yml text; returns ajv's errors (empty = valid). */
export function validateClab(text: string): ErrorObject[] {
  const v = clabValidator();
  return v(parseYaml(text)) ? [] : [...(v.errors ?? [])];
}
