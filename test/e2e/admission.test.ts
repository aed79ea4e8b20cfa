import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PatchStrategy, VersionApi, setHeaderOptions, type V1Container } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlPath } from '../support/helm.js';
import { E2eHarness } from './harness.js';
import { auditEventOfCreate } from './support/audit-log.js';
import { refusal } from './support/cluster.js';
import { conflictingContainers, cronJob, daemonSet, deployment, distinctContainers, pod, statefulSet } from './support/manifests.js';
import type { PodpatternsServer } from './support/podpatterns.js';

const harness = await E2eHarness.start('admission');
const enforce = harness.namespace('enforce');
const warn = harness.namespace('warn');
const audit = harness.namespace('audit');
// The chart's url-mode values (failurePolicy Fail) with one namespace per mode; audit everywhere else.
const values = {
  webhook: { failurePolicy: 'Fail', timeoutSeconds: 5 },
  validation: { mode: 'audit', namespaces: { enforce: [enforce], warn: [warn] } },
};
let server: PodpatternsServer;

const PORT_CONFLICT = /port-conflict: containers 'app' and 'metrics-proxy' both declare port 8080\/TCP/;
const PORT_CONFLICT_WARNING = "'metrics-proxy' shares port 8080/TCP with 'app': one fails to bind (fix: podpatterns rules port-conflict).";

beforeAll(async () => {
  await harness.createNamespaces(enforce, warn, audit);
  // Stored before podpatterns is installed, as a workload that predates it would be.
  await harness.clients.apps.createNamespacedDeployment({ namespace: enforce, body: deployment('legacy', conflictingContainers()) });
  server = await harness.startServer('podpatterns', { values });
  await harness.install({ release: 'podpatterns-e2e', port: server.port, values });
  await harness.untilEnforced(enforce);
});

afterAll(() => harness.stop());

describe('podpatterns serve behind a real kube-apiserver', () => {
  it('reads the Kubernetes version from the API server it reviews for', async () => {
    const { major, minor } = await harness.clients.config.makeApiClient(VersionApi).getCode();
    const apiServer = `${major}.${minor.replace(/\D+$/, '')}`;
    const nodes = (await harness.clients.core.listNode()).items;
    const kubelets = nodes
      .map((node) => /^v?(\d+)\.(\d+)/.exec(node.status!.nodeInfo!.kubeletVersion)!.slice(1).map(Number) as [number, number])
      .sort(([a, b], [c, d]) => a - c || b - d);
    const read = (await server.logLines()).find((line) => line.msg === 'cluster versions read from the API server');
    expect(read).toMatchObject({
      kubernetesVersion: apiServer,
      // With no node at all (this control plane runs no kubelet) the API server's version stands in.
      minKubeletVersion: kubelets[0]?.join('.') ?? apiServer,
      nodes: nodes.length,
    });
  });

  it('rejects a pod whose two containers both listen on 8080 with the rule message and its fix', async () => {
    const refused = await refusal(harness.clients.core.createNamespacedPod({ namespace: enforce, body: pod('web', conflictingContainers()) }));
    expect(refused.code).toBe(403);
    expect(refused.message).toMatch(/^admission webhook "enforce\.validate\.podpatterns\.io" denied the request: /);
    expect(refused.message).toMatch(PORT_CONFLICT);
    expect(refused.message).toContain("Fix: Move 'metrics-proxy' to another port");
    await expect(refusal(harness.clients.core.readNamespacedPod({ namespace: enforce, name: 'web' }))).resolves.toMatchObject({ code: 404 });
  });

  it('admits the same pod in an audit namespace and records the finding as an audit annotation', async () => {
    const created = await harness.clients.core.createNamespacedPod({ namespace: audit, body: pod('web', conflictingContainers()) });
    expect(created.metadata?.uid).toBeTruthy();
    const logged = (await server.logLines()).find((line) => line.namespace === audit && line.name === 'web');
    expect(logged).toMatchObject({ allowed: true, mode: 'audit', wouldDeny: ['port-conflict'] });
    if (harness.cluster.auditLog !== undefined) {
      const event = await auditEventOfCreate(harness.cluster.auditLog, { resource: 'pods', namespace: audit, name: 'web' });
      expect(event.responseStatus?.code).toBe(201);
      expect(event.annotations?.['validate.podpatterns.io/port-conflict']).toMatch(/both declare port 8080\/TCP/);
    }
  });

  it('admits the same pod in a warn namespace and returns the finding as a warning', async () => {
    const created = await harness.clients.core.createNamespacedPodWithHttpInfo({ namespace: warn, body: pod('web', conflictingContainers()) });
    expect(created.httpStatusCode).toBe(201);
    expect(created.headers.warning).toContain(PORT_CONFLICT_WARNING);
  });

  it('admits a pod whose containers listen on distinct ports in an enforce namespace', async () => {
    const created = await harness.clients.core.createNamespacedPodWithHttpInfo({ namespace: enforce, body: pod('web-fixed', distinctContainers()) });
    expect(created.httpStatusCode).toBe(201);
    expect(created.headers.warning ?? '').not.toMatch(/port-conflict/);
  });
});

describe('hostPort, as port-conflict describes it', () => {
  const onHostPort = (name: string, containerPort: number) => ({ name, image: `registry.example.com/${name}:1.0.0`, ports: [{ containerPort, hostPort: 8080 }] });

  it('is refused by the API server itself, before any webhook, for two entries of containers in a Deployment', async () => {
    const refused = await refusal(
      harness.clients.apps.createNamespacedDeployment({ namespace: enforce, body: deployment('host-port-twice', [onHostPort('app', 80), onHostPort('exporter', 81)]) }),
    );
    expect(refused.code).toBe(422);
    expect(refused.message).toContain('spec.template.spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"');
    expect(refused.message).not.toContain('admission webhook');
  });

  it('is accepted on a native sidecar and a container, which the API server checks one by one, and not reported', async () => {
    const body = deployment('host-port-sidecar', [onHostPort('app', 80)]);
    body.spec!.template.spec!.initContainers = [{ ...onHostPort('exporter', 81), restartPolicy: 'Always' }];
    const created = await harness.clients.apps.createNamespacedDeploymentWithHttpInfo({ namespace: enforce, body });
    expect(created.httpStatusCode).toBe(201);
    expect(created.headers.warning ?? '').not.toContain('port-conflict');
  });
});

describe('port names, which the API server checks within one container only', () => {
  const app = (): V1Container => ({ name: 'app', image: 'registry.example.com/app:1.0.0', ports: [{ name: 'http', containerPort: 8080 }] });
  const proxy = (extra: Partial<V1Container> = {}): V1Container => ({ name: 'proxy', image: 'registry.example.com/proxy:1.0.0', ...extra });

  it('accepts a readiness probe on a port name its container lacks, which podpatterns denies', async () => {
    const probing = () => pod('probe-elsewhere', [app(), proxy({ ports: [{ name: 'proxy', containerPort: 4180 }], readinessProbe: { httpGet: { path: '/ready', port: 'http' } } })]);
    // Admitted in the audit namespace: the API server's own validation lets it through.
    const created = await harness.clients.core.createNamespacedPodWithHttpInfo({ namespace: audit, body: probing() });
    expect(created.httpStatusCode).toBe(201);
    const logged = (await server.logLines()).find((line) => line.namespace === audit && line.name === 'probe-elsewhere');
    expect(logged).toMatchObject({ allowed: true, wouldDeny: ['probe-named-port-undeclared'] });
    const refused = await refusal(harness.clients.core.createNamespacedPod({ namespace: enforce, body: probing() }));
    expect(refused.code).toBe(403);
    expect(refused.message).toContain("probe-named-port-undeclared: the readinessProbe of 'proxy' names port 'http', which 'proxy' does not declare (it is 'app' that declares it, as 8080/TCP)");
    expect(refused.message).toContain('Set spec.containers[1].readinessProbe.httpGet.port to 8080');
  });

  it('refuses one name twice in a container itself, accepts it in two containers, and podpatterns warns', async () => {
    const twice = await refusal(
      harness.clients.core.createNamespacedPod({ namespace: enforce, body: pod('name-twice', [{ ...app(), ports: [{ name: 'http', containerPort: 8080 }, { name: 'http', containerPort: 8081 }] }]) }),
    );
    expect(twice.code).toBe(422);
    expect(twice.message).toContain('spec.containers[0].ports[1].name: Duplicate value: "http"');
    expect(twice.message).not.toContain('admission webhook');
    const created = await harness.clients.core.createNamespacedPodWithHttpInfo({
      namespace: enforce,
      body: pod('name-in-two', [app(), proxy({ ports: [{ name: 'http', containerPort: 4180 }] })]),
    });
    expect(created.httpStatusCode).toBe(201);
    expect(created.headers.warning).toContain("'proxy' reuses port name 'http' of 'app' (fix: podpatterns rules duplicate-port-name).");
  });
});

describe('pod templates of every workload kind', () => {
  const kinds = {
    Deployment: (containers: V1Container[], name: string) => harness.clients.apps.createNamespacedDeployment({ namespace: enforce, body: deployment(name, containers) }),
    StatefulSet: (containers: V1Container[], name: string) => harness.clients.apps.createNamespacedStatefulSet({ namespace: enforce, body: statefulSet(name, containers) }),
    DaemonSet: (containers: V1Container[], name: string) => harness.clients.apps.createNamespacedDaemonSet({ namespace: enforce, body: daemonSet(name, containers) }),
    CronJob: (containers: V1Container[], name: string) => harness.clients.batch.createNamespacedCronJob({ namespace: enforce, body: cronJob(name, containers) }),
  };

  it.each(Object.keys(kinds) as (keyof typeof kinds)[])('rejects a %s whose template has two containers on 8080', async (kind) => {
    const refused = await refusal(kinds[kind](conflictingContainers(), `conflict-${kind.toLowerCase()}`));
    expect(refused.code).toBe(403);
    expect(refused.message).toMatch(PORT_CONFLICT);
  });

  it.each(Object.keys(kinds) as (keyof typeof kinds)[])('admits a %s whose containers listen on distinct ports', async (kind) => {
    await expect(kinds[kind](distinctContainers(), `fixed-${kind.toLowerCase()}`)).resolves.toMatchObject({ kind });
  });
});

describe('a Deployment that violated the rules before podpatterns was installed', () => {
  it('scales through an UPDATE of spec.replicas, with the finding as a pre-existing warning', async () => {
    const patched = await harness.clients.apps.patchNamespacedDeploymentWithHttpInfo(
      { namespace: enforce, name: 'legacy', body: { spec: { replicas: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.httpStatusCode).toBe(200);
    expect(patched.data.spec?.replicas).toBe(3);
    expect(patched.headers.warning).toContain("'metrics-proxy' shares port 8080/TCP with 'app': one fails to bind (pre-existing; fix: podpatterns rules port-conflict).");
  });

  it('scales with kubectl scale (the scale subresource)', async () => {
    const kubectl = await kubectlPath();
    const { stdout } = await promisify(execFile)(kubectl, ['--kubeconfig', harness.cluster.kubeconfigFile, '-n', enforce, 'scale', 'deployment/legacy', '--replicas=5']);
    expect(stdout).toContain('deployment.apps/legacy scaled');
    expect((await harness.clients.apps.readNamespacedDeployment({ namespace: enforce, name: 'legacy' })).spec?.replicas).toBe(5);
  });

  it('rejects an update that adds a new conflict', async () => {
    const containers = [...conflictingContainers(), { name: 'debug', image: 'registry.example.com/debug:1.0.0', ports: [{ containerPort: 9000 }, { containerPort: 8080 }] }];
    const refused = await refusal(
      harness.clients.apps.patchNamespacedDeployment(
        { namespace: enforce, name: 'legacy', body: { spec: { template: { spec: { containers } } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(refused.code).toBe(403);
    expect(refused.message).toMatch(/port-conflict: containers '(app|metrics-proxy)' and 'debug' both declare port 8080\/TCP/);
  });
});

describe('a Pod of a Job into which a mesh injected its proxy', () => {
  it('gets the classic-sidecar-in-job warning at Pod creation: the proxy keeps the Job from completing', async () => {
    // What the Job controller creates once Istio's injector has added istio-proxy: the Job itself never lists it.
    const body = pod('export-7x2kq', [
      { name: 'export', image: 'registry.example.com/export:1.8.0' },
      { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.26.2', args: ['proxy', 'sidecar'] },
    ]);
    body.metadata!.ownerReferences = [{ apiVersion: 'batch/v1', kind: 'Job', name: 'export', uid: '6f1b5d3e-0c1d-4a8e-9f2b-7d4c3a2b1e0f', controller: true, blockOwnerDeletion: true }];
    body.spec!.restartPolicy = 'Never';
    const created = await harness.clients.core.createNamespacedPodWithHttpInfo({ namespace: warn, body });
    expect(created.httpStatusCode).toBe(201);
    expect(created.headers.warning).toContain("'istio-proxy' never exits, so the Job never completes (fix: podpatterns rules classic-sidecar-in-job).");
  });
});
