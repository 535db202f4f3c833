// Module hooks so test child processes can run our TypeScript directly (`node --import
// ./ipam/test/register-ts.mjs worker.ts`): `.js` specifiers fall back to the `.ts` file, and `.ts` is
// transpiled with the project's own TypeScript (type-only, no bundling). Test use only.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (specifier.endsWith('.js') && /^(\.|\/|file:)/.test(specifier)) return next(specifier.slice(0, -3) + '.ts', context);
    throw err;
  }
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const out = ts.transpileModule(await readFile(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
