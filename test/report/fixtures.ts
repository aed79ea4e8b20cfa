import type { Rule } from '../../src/engine/types.js';
import type { AuditReport } from '../../src/report/types.js';

export const RULES: Rule[] = [
  {
    id: 'port-clash',
    defaultSeverity: 'deny',
    kinds: ['Pod'],
    summary: 'Two containers bind one port.',
    description: 'Containers share a network namespace. Fix: move one | the other.',
    example: { bad: 'kind: Pod\nmetadata: {name: bad}\n', fixed: 'kind: Pod\nmetadata: {name: fixed}\n' },
    options: { ignorePorts: { type: 'string[]', default: [], description: 'ports | that may repeat' } },
    problem: ({ other }) => `shares a port with '${other}'`,
    evaluate: () => [],
  },
  {
    id: 'sidecar-limits',
    defaultSeverity: 'audit',
    kinds: ['Pod'],
    summary: 'A sidecar has no limits.',
    description: 'Limits keep a sidecar small.',
    example: { bad: 'kind: Pod', fixed: 'kind: Pod', kubernetesVersion: '1.29' },
    options: { maxSidecars: { type: 'number', default: 3, description: 'how many', minimum: 1 } },
    problem: () => 'has no limits',
    evaluate: () => [],
  },
];

/** A report with findings in two resources of two files, one input error and one exemption. */
export function sampleReport(): AuditReport {
  return {
    findings: [
      {
        rule: 'port-clash',
        severity: 'deny',
        resource: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
        container: 'proxy',
        path: 'spec.template.spec.containers[1].ports[0].containerPort',
        message: "containers 'app' and 'proxy' both declare port 8080/TCP.",
        fix: "Move 'proxy' to another port.",
        problem: "shares port 8080/TCP with 'app'",
        file: 'manifests/web app.yaml',
        line: 27,
      },
      {
        rule: 'sidecar-limits',
        severity: 'audit',
        resource: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
        path: 'spec.template.spec',
        message: 'the pod has no limits.',
        fix: 'Add limits.',
        problem: 'the pod has no limits',
        file: 'manifests/web app.yaml',
        line: 12,
      },
      {
        rule: 'sidecar-limits',
        severity: 'warn',
        resource: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'reader' },
        container: 'x',
        path: '',
        message: 'odd.',
        fix: 'Even it.',
        problem: 'is odd',
        file: 'stdin',
        line: 3,
      },
    ],
    errors: [{ file: 'manifests/broken.yaml', line: 4, code: 'PODPATTERNS_ERR_INPUT_SYNTAX', message: 'document 2 is not valid YAML: bad indentation (column 3)' }],
    exempted: [
      {
        rule: 'port-clash',
        severity: 'deny',
        resource: { apiVersion: 'v1', kind: 'Pod', name: 'legacy' },
        container: 'proxy',
        path: 'spec.containers[1].ports[0].containerPort',
        message: "containers 'app' and 'proxy' both declare port 8080/TCP.",
        fix: "Move 'proxy' to another port.",
        problem: "shares port 8080/TCP with 'app'",
        file: 'manifests/legacy.yaml',
        line: 14,
        exemption: { source: 'annotation', reason: 'moving in Q3' },
      },
    ],
    expiredExemptions: [],
    files: 3,
    documents: 7,
    resources: 8,
  };
}
