import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/engine.js';
import type { KubeObject } from '../../src/model/kube.js';
import { podModelOf, runTogether, type ContainerModel } from '../../src/model/pod.js';
import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';

/**
 * port-conflict and shared-volume-concurrent-writers never compare containers pairwise (that is quadratic in a
 * pod with thousands of them). These properties check them against the pairwise definition on random pods
 * mixing init containers, native sidecars and regular containers.
 */

const context = { kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION };
const policy = defaultPolicy(ALL_RULES);
const run = (id: string, object: KubeObject) => evaluate(object, context, policy, ALL_RULES.filter((rule) => rule.id === id)).findings;

const mount = fc.record({
  subPath: fc.constantFrom('', 'a', 'a/b', 'a/b/c', 'b', 'a/bc', './a//b'),
  mountPath: fc.constantFrom('/data', '/tmp', '/var/tmp/', '/run/x.lock', '/logs'),
  readOnly: fc.boolean(),
});
const container = fc.record({
  kind: fc.constantFrom('init', 'native', 'regular'),
  ports: fc.array(fc.record({ containerPort: fc.integer({ min: 80, max: 83 }), protocol: fc.constantFrom('TCP', 'UDP') }), { maxLength: 3 }),
  mounts: fc.array(mount, { maxLength: 3 }),
});
const pods = fc.array(container, { minLength: 1, maxLength: 8 }).map((specs): KubeObject => {
  const toSpec = (spec: (typeof specs)[number], index: number) => ({
    name: `c${index}`,
    image: 'registry.example.com/x:1.0.0',
    ports: spec.ports,
    volumeMounts: spec.mounts.map((m) => ({ name: 'v', mountPath: m.mountPath, subPath: m.subPath, readOnly: m.readOnly })),
    ...(spec.kind === 'native' && { restartPolicy: 'Always' }),
  });
  const named = specs.map(toSpec);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      volumes: [{ name: 'v', emptyDir: {} }],
      initContainers: named.filter((_, i) => specs[i]!.kind !== 'regular'),
      containers: named.filter((_, i) => specs[i]!.kind === 'regular'),
    },
  };
});

/** The pairwise definition: the later container of the first pair of containers that run together on one port. */
function pairwisePortConflicts(object: KubeObject): string[] {
  const pod = podModelOf(object)!;
  const declared = pod.containers.flatMap((c) => {
    const seen = new Set<string>();
    return (c.spec.ports ?? []).flatMap((p, i) => {
      const key = `containerPort/${p.containerPort}/${(p.protocol ?? 'TCP').toUpperCase()}`;
      if (seen.has(key)) return [];
      seen.add(key);
      return [{ c, key, path: `${c.path}.ports[${i}].containerPort` }];
    });
  });
  return declared.filter((later, i) => declared.slice(0, i).some((earlier) => earlier.key === later.key && runTogether(earlier.c, later.c))).map((p) => p.path);
}

/** The pairwise definition of a shared-volume clash: the first later mount and every mount in any clashing pair. */
function pairwiseVolumeClash(object: KubeObject): { second?: string; involved: string[] } {
  const pod = podModelOf(object)!;
  const normalise = (s: string) => s.split('/').filter((part) => part !== '' && part !== '.').join('/');
  const mounts = pod.containers.flatMap((c: ContainerModel) =>
    (c.spec.volumeMounts ?? []).flatMap((m, index) => (m.readOnly === true ? [] : [{ c, index, mountPath: m.mountPath as string, subPath: normalise((m.subPath as string) ?? '') }])),
  );
  const overlap = (a: string, b: string) => a === '' || b === '' || a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  const lock = (m: (typeof mounts)[number]) => /\.(?:lock|lck)$/.test(m.mountPath);
  const scratch = (m: (typeof mounts)[number]) => /^\/(?:var\/)?tmp\/?$/.test(m.mountPath);
  const clash = (a: (typeof mounts)[number], b: (typeof mounts)[number]) =>
    a.c !== b.c && runTogether(a.c, b.c) && overlap(a.subPath, b.subPath) && !(lock(a) || lock(b) || (scratch(a) && scratch(b)));
  const pairs = mounts.flatMap((later, i) => mounts.slice(0, i).filter((earlier) => clash(earlier, later)).map((earlier) => [earlier, later] as const));
  const involved = mounts.filter((m) => pairs.some(([a, b]) => a === m || b === m));
  const second = pairs[0]?.[1];
  return { ...(second && { second: `${second.c.path}.volumeMounts[${second.index}]` }), involved: involved.map((m) => `'${m.c.name}' at ${m.mountPath}`) };
}

describe('rules that avoid pairwise comparisons agree with the pairwise definition', () => {
  it('port-conflict reports exactly the later container of every pair that runs together on one port', () => {
    fc.assert(
      fc.property(pods, (object) => {
        const reported = run('port-conflict', object).filter((finding) => finding.path.endsWith('containerPort')).map((finding) => finding.path);
        expect(reported).toEqual(pairwisePortConflicts(object));
      }),
      { numRuns: 400 },
    );
  });

  it('shared-volume-concurrent-writers reports the first clashing mount and every mount in a clash', () => {
    fc.assert(
      fc.property(pods, (object) => {
        const expected = pairwiseVolumeClash(object);
        const findings = run('shared-volume-concurrent-writers', object);
        expect(findings.map((finding) => finding.path)).toEqual(expected.second ? [expected.second] : []);
        for (const mount of expected.involved) expect(findings[0]!.message).toContain(mount);
        if (findings[0]) expect(findings[0].message).toContain(`by ${expected.involved.length} containers`);
      }),
      { numRuns: 400 },
    );
  });
});
