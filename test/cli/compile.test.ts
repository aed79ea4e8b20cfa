import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from './run.js';

describe('podpatterns compile (CLI)', () => {
  it('prints a YAML stream of policies and bindings with a header that names the target and every rule left out', async () => {
    const result = await runCli(['compile', '--kubernetes-version', '1.36', '--min-kubelet-version', '1.34']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('# podpatterns compile: Kubernetes 1.36, kubelets from 1.34, mode enforce');
    expect(result.stdout).toContain('# not compiled: hpa-pod-average-on-multi-container (webhook-only): ');
    const documents = parseAllDocuments(result.stdout).map((document) => document.toJS() as { kind: string; metadata: { name: string } });
    expect(documents.length).toBeGreaterThan(10);
    expect(documents.map((document) => document.kind)).toContain('ValidatingAdmissionPolicyBinding');
    expect(documents.find((document) => document.metadata.name === 'podpatterns-port-conflict')).toBeDefined();
    expect(result.stderr).toContain('podpatterns compile: hpa-pod-average-on-multi-container not compiled (webhook-only)');
  });

  it('prints one JSON List with -o json, and caps the actions with --mode warn', async () => {
    const result = await runCli(['compile', '-o', 'json', '--mode', 'warn']);
    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout) as { kind: string; items: Array<{ kind: string; spec: { validationActions?: string[] } }> };
    expect(list.kind).toBe('List');
    const actions = list.items.filter((item) => item.kind === 'ValidatingAdmissionPolicyBinding').map((item) => item.spec.validationActions);
    expect(actions.length).toBeGreaterThan(0);
    for (const entry of actions) expect(entry).not.toContain('Deny');
  });

  it('refuses a cluster without ValidatingAdmissionPolicy with exit code 2 and the reason', async () => {
    const result = await runCli(['compile', '--kubernetes-version', '1.28']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) needs Kubernetes 1.30 or newer');
  });

  it('refuses kubelets newer than the API server', async () => {
    const result = await runCli(['compile', '--kubernetes-version', '1.35', '--min-kubelet-version', '1.36']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('kubelets are never newer than the API server');
  });
});
