import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/config/server-config.js';
import { admissionReview, post, startTestServer, webPod, type TestServer } from './support.js';

/** A pod with two problems: a port conflict and an init container that never exits (a webhook-only rule). */
function twoProblems(): unknown {
  const pod = webPod();
  pod.spec.initContainers = [{ name: 'wait-forever', image: 'registry.example.com/tools:1.2.0', command: ['sh', '-c', 'sleep infinity'] }];
  return pod;
}

describe('--skip-rules: rules left to in-tree admission policies', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ skipRules: 'port-conflict, unpinned-image' });
  });

  afterAll(async () => {
    await server?.stop();
  });

  const review = (path: string, object: unknown) => post(`${server.url}${path}`, JSON.stringify(admissionReview(object)), { ca: server.ca });

  it('admits on /validate a pod whose only finding is of a skipped rule', async () => {
    const { response } = (await review('/validate/enforce', webPod())).json;
    expect(response.allowed).toBe(true);
    expect(response.warnings).toBeUndefined();
    expect(JSON.stringify(response.auditAnnotations ?? {})).not.toContain('port-conflict');
  });

  it('still denies on /validate with the rules it was not told to skip', async () => {
    const { response } = (await review('/validate/enforce', twoProblems())).json;
    expect(response.allowed).toBe(false);
    expect(response.status.message).toMatch(/^init-container-never-exits: /);
    expect(response.status.message).not.toContain('port-conflict');
  });

  it('names the skipped rules in its start-up log line', () => {
    expect(server.logs.find((line) => line.msg?.startsWith('podpatterns webhook serving'))).toMatchObject({ skippedOnValidate: ['port-conflict', 'unpinned-image'] });
  });

  it('refuses to start with an unknown rule id, naming the flag and the closest id', async () => {
    await expect(startTestServer({ skipRules: 'port-conflcit' })).rejects.toThrow("--skip-rules: unknown rule 'port-conflcit' (did you mean 'port-conflict'?)");
  });

  it('reads a comma-separated list from the flag or PODPATTERNS_SKIP_RULES, blanks and repeats dropped', () => {
    expect(resolveServerConfig({}, {}).skipRules).toEqual([]);
    expect(resolveServerConfig({}, { PODPATTERNS_SKIP_RULES: 'a, b,,a ' }).skipRules).toEqual(['a', 'b']);
    expect(resolveServerConfig({ skipRules: 'c' }, { PODPATTERNS_SKIP_RULES: 'a' }).skipRules).toEqual(['c']);
  });
});
