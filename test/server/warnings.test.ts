import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_RULES } from '../../src/rules/index.js';
import { objectsFromYaml } from '../support/engine.js';
import { admissionReview, post, startTestServer, webPod, type TestServer } from './support.js';

/** What kubectl shows in warn mode must read as whole sentences: never cut, each naming its rule's doc. */
function expectWholeSentences(warnings: readonly string[]): void {
  for (const warning of warnings) {
    expect([...warning].length, warning).toBeLessThanOrEqual(120);
    expect(warning, warning).toMatch(/ \((pre-existing; )?fix: podpatterns rules [a-z0-9-]+\)\.$/);
  }
}

describe('warnings from the HTTPS server', () => {
  let server: TestServer;

  beforeAll(async () => {
    // Every rule at its default severity, as a fresh install has it.
    server = await startTestServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

  const validate = (mode: string, review: unknown) => post(`${server.url}/validate/${mode}`, JSON.stringify(review), { ca: server.ca });

  // The examples that assume an older cluster are checked against the engine alone (test/rules/short-forms.test.ts).
  for (const rule of ALL_RULES.filter((candidate) => candidate.example.kubernetesVersion === undefined)) {
    it(`warns about ${rule.id}'s README example in warn mode with its short form`, async () => {
      const warnings: string[] = [];
      for (const object of objectsFromYaml(rule.example.bad)) {
        const { response } = (await validate('warn', admissionReview(object))).json;
        expect(response.allowed).toBe(true);
        warnings.push(...(response.warnings ?? []));
        // The full message and its fix stay in the audit annotations.
        if (response.auditAnnotations?.[rule.id]) expect(response.auditAnnotations[rule.id].length).toBeGreaterThan(120);
      }
      expectWholeSentences(warnings);
      // An HPA finds its target among related objects, which a single admission request does not carry.
      if (rule.id !== 'hpa-pod-average-on-multi-container' && rule.defaultSeverity !== 'audit') {
        expect(warnings.filter((warning) => warning.includes(`podpatterns rules ${rule.id})`))).not.toEqual([]);
      }
    });
  }

  it('keeps the sentence whole for 63-character container names, denied, warned and pre-existing', async () => {
    const long = (name: string) => `${name}-${'x'.repeat(63)}`.slice(0, 63);
    const pod = webPod();
    for (const container of pod.spec.containers) container.name = long(container.name);
    const enforced = (await validate('enforce', admissionReview(pod))).json.response;
    expect(enforced.allowed).toBe(false);
    expect(enforced.status.message).toContain(`containers '${long('app')}' and '${long('metrics-proxy')}' both declare port 8080/TCP`);
    expect(enforced.status.message).toContain(`Fix: Move '${long('metrics-proxy')}' to another port`);

    const warned = (await validate('warn', admissionReview(pod))).json.response;
    expectWholeSentences(warned.warnings);
    expect(warned.warnings).toContainEqual(expect.stringMatching(/^'metrics[^']*…[^']*x' shares port 8080\/TCP with 'app-[^']*…[^']*x': one fails to bind/));

    const updated = webPod({ labels: { team: 'checkout' } });
    for (const container of updated.spec.containers) container.name = long(container.name);
    const ratcheted = (await validate('enforce', admissionReview(updated, { operation: 'UPDATE', oldObject: pod }))).json.response;
    expect(ratcheted.allowed).toBe(true);
    expectWholeSentences(ratcheted.warnings);
    expect(ratcheted.warnings).toContainEqual(expect.stringMatching(/one fails to bind \(pre-existing; fix: podpatterns rules port-conflict\)\.$/));
  });
});
