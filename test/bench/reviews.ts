/** The AdmissionReviews the webhook benchmarks send. */

/** A Deployment with `count` containers as a chart would write it: pinned images, requests, distinct ports. */
export function review(count: number): string {
  const containers = Array.from({ length: count }, (_, index) => ({
    name: index === 0 ? 'app' : `helper-${index}`,
    image: `registry.example.com/team/${index === 0 ? 'app' : `helper-${index}`}:1.${index}.0`,
    args: ['--listen', `:${8080 + index}`],
    ports: [{ name: `http-${index}`, containerPort: 8080 + index, protocol: 'TCP' }],
    env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    readinessProbe: { httpGet: { path: '/ready', port: 8080 + index }, periodSeconds: 10 },
    volumeMounts: [{ name: 'config', mountPath: `/etc/config-${index}`, readOnly: true }],
  }));
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers, volumes: [{ name: 'config', configMap: { name: 'web-config' } }], terminationGracePeriodSeconds: 30 },
      },
    },
  };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      namespace: 'shop',
      name: 'web',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:argocd:argocd-application-controller' },
      object: deployment,
      oldObject: null,
      dryRun: false,
    },
  });
}
