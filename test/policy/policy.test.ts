import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/engine.js';
import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
import { defaultPolicy, loadPolicyFile } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { failure, parse } from '../support/policy.js';


describe('policy file', () => {
  it('gives every rule its default severity and options when empty', () => {
    const policy = parse('');
    expect(policy).toEqual(defaultPolicy(ALL_RULES));
    expect(policy.rules['port-conflict']).toEqual({ enabled: true, severity: 'deny', options: {} });
    expect(policy.rules['too-many-sidecars']!.options).toEqual({ threshold: 5 });
    expect(policy.migration).toEqual({ mode: 'dry-run', cronJobs: false, pods: false });
    expect(Object.isFrozen(policy.rules)).toBe(true);
  });

  it('accepts the example the README documents', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = readme.split('## Policy file')[1]!.split('```yaml')[1]!.split('```')[0]!;
    const policy = parse(example);
    expect(policy.rules['unpinned-image']!.options.floatingTags).toEqual(['master', 'main', 'canary']);
    expect(policy.rules['too-many-sidecars']!.options.threshold).toBe(7);
    expect(policy.rules['sidecar-missing-resources']!.severity).toBe('audit');
    expect(policy.rules['shared-volume-concurrent-writers']!.enabled).toBe(false);
    expect(policy.rules['privileged-sidecar']!.severity).toBe('deny');
  });

  it('names the file, line and key of an unknown rule, with a suggestion', () => {
    expect(failure('rules:\n  port-conflict: deny\n  port-conflcit: warn\n')).toBe(
      "policy file policy.yaml, line 3: rules.port-conflcit: unknown rule 'port-conflcit' (did you mean 'port-conflict'?)",
    );
  });

  it('names the key of a value of the wrong type or out of range', () => {
    expect(failure('rules:\n  too-many-sidecars:\n    threshold: many\n')).toMatch(/line 3: rules\.too-many-sidecars\.threshold: must be a number, not string "many"/);
    expect(failure('rules:\n  too-many-sidecars:\n    threshold: 0\n')).toMatch(/threshold: must be at least 1, not 0/);
    expect(failure('rules:\n  unpinned-image:\n    floatingTags: latest\n')).toMatch(/line 3: rules\.unpinned-image\.floatingTags: must be a list of strings, not string "latest"/);
    expect(failure('rules:\n  unpinned-image:\n    floatingTags: [latest, 3]\n')).toMatch(/rules\.unpinned-image\.floatingTags: must be a list of strings: item 2 is number 3/);
    expect(failure('rules:\n  port-conflict:\n    severity: block\n')).toMatch(/rules\.port-conflict\.severity: must be one of deny, warn, audit/);
    expect(failure('migration:\n  mode: now\n')).toMatch(/line 2: migration\.mode: must be one of apply, dry-run, off/);
    expect(failure('rulez: {}\n')).toMatch(/line 1: rulez: unknown key \(did you mean 'rules'\?\)/);
  });

  it('reports a YAML syntax error with its line', () => {
    expect(failure('rules:\n  port-conflict: [deny\n')).toMatch(/^policy file policy\.yaml, line \d+: /);
  });

  it('names the file it cannot read', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'podpatterns-policy-'));
    try {
      await expect(loadPolicyFile(join(directory, 'missing.yaml'), ALL_RULES)).rejects.toThrow(/missing\.yaml: cannot be read/);
      const file = join(directory, 'policy.yaml');
      await writeFile(file, 'migration:\n  mode: apply\n');
      expect((await loadPolicyFile(file, ALL_RULES)).migration.mode).toBe('apply');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('what the policy file set', () => {
  it('records every value the file set, even one equal to its default, and nothing else', () => {
    const policy = parse('rules:\n  port-conflict: {severity: deny}\n  too-many-sidecars:\n    threshold: 5\n  unpinned-image: off\nmigration:\n  mode: dry-run\n');
    expect(policy.explicit.rules['port-conflict']).toEqual({ enabled: false, severity: true, options: {} });
    expect(policy.explicit.rules['too-many-sidecars']).toEqual({ enabled: false, severity: false, options: { threshold: true } });
    expect(policy.explicit.rules['unpinned-image']).toEqual({ enabled: true, severity: false, options: { floatingTags: false } });
    expect(policy.explicit.migration).toEqual({ mode: true, cronJobs: false, pods: false });
    expect(defaultPolicy(ALL_RULES).explicit.rules['port-conflict']).toEqual({ enabled: false, severity: false, options: {} });
  });

  it('lets a pinned severity win over the verdict a rule picks itself', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example.com/web:1.0.0' }, { name: 'agent', image: 'registry.example.com/agent:1.0.0', restartPolicy: 'Always' }] } } },
    };
    const rules = ALL_RULES.filter((rule) => rule.id === 'restart-policy-on-container');
    const context = { kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION };
    expect(evaluate(deployment, context, defaultPolicy(ALL_RULES), rules).findings.map((finding) => finding.severity)).toEqual(['warn']);
    const pinned = parse('rules:\n  restart-policy-on-container: {severity: deny}\n');
    expect(evaluate(deployment, context, pinned, rules).findings.map((finding) => finding.severity)).toEqual(['deny']);
  });
});
