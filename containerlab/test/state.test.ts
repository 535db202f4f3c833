// The lab lock: one changer at a time, a dead holder's lock is taken over.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError, LabErrorCode } from '../errors.js';
import { acquireLock } from '../state.js';

describe('lab lock', () => {
  let dir = '';
  let stateDir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ull-lock-'));
    stateDir = join(dir, 'lab');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second holder while the first is alive, and frees on release', () => {
    const release = acquireLock(stateDir);
    let err: unknown;
    try {
      acquireLock(stateDir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe(LabErrorCode.Busy);
    expect((err as LabError).message).toContain(`pid ${process.pid}`);
    release();
    expect(existsSync(`${stateDir}.lock`)).toBe(false);
    acquireLock(stateDir)();
  });

  it('takes over the lock of a dead process', () => {
    // A PID that certainly exited: a child we ran to completion.
    const r = spawnSync('true');
    writeFileSync(`${stateDir}.lock`, String(r.pid));
    const release = acquireLock(stateDir);
    expect(readFileSync(`${stateDir}.lock`, 'utf8')).toBe(String(process.pid));
    release();
  });
});
