// The agent's `kubernetes:` config keys (uplinkd/config.ts): pod GC period and grace, defaults, bounds.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../config.js';

describe('kubernetes: section of the agent config', () => {
  it('defaults to a 30 s GC period and a 120 s grace; explicit values are kept', () => {
    expect(parseAgentConfig({ nodeName: 'n1' }).kubernetes).toEqual({ podGcIntervalSeconds: 30, podGcGraceSeconds: 120 });
    expect(parseAgentConfig({ nodeName: 'n1', kubernetes: { podGcIntervalSeconds: 1, podGcGraceSeconds: 0 } }).kubernetes).toEqual({ podGcIntervalSeconds: 1, podGcGraceSeconds: 0 });
  });

  it('rejects unknown keys and out-of-range values, naming the key', () => {
    expect(() => parseAgentConfig({ kubernetes: { podGcGrace: 5 } })).toThrow(/kubernetes/);
    expect(() => parseAgentConfig({ kubernetes: { podGcIntervalSeconds: 0 } })).toThrow(/kubernetes.podGcIntervalSeconds/);
    expect(() => parseAgentConfig({ kubernetes: { podGcGraceSeconds: -1 } })).toThrow(/kubernetes.podGcGraceSeconds/);
  });
});
