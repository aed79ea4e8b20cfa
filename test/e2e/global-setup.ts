import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import type { TestProject } from 'vitest/node';
import { clientsFor, deleteRunObjects, kubeConfigFor, type E2eCluster } from './support/cluster.js';
import { ensureBinaries, kubeconfigYaml, startControlPlane, type ControlPlane } from './support/control-plane.js';
import { reapLeftovers } from './support/processes.js';
import { readSettings } from './support/settings.js';

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2eCluster;
  }
}

/**
 * Once per run: the cluster every test file uses. Without E2E_KUBECONFIG that is etcd and kube-apiserver
 * started here (built first when missing). Afterwards: the run's objects are deleted, the control plane is
 * stopped, and any process a test file started and left running is killed and reported.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const settings = readSettings();
  const runId = randomBytes(3).toString('hex');
  const runDirectory = await mkdtemp(join(tmpdir(), 'podpatterns-e2e-'));
  const pidDirectory = join(runDirectory, 'pids');
  await mkdir(pidDirectory);
  const listenHost = settings.webhookHost === '127.0.0.1' ? '127.0.0.1' : '0.0.0.0';
  const common = { runId, runDirectory, pidDirectory, webhookHost: settings.webhookHost, listenHost, podpatternsEntry: settings.podpatternsEntry };

  let controlPlane: ControlPlane | undefined;
  let cluster: E2eCluster;
  if (settings.kubeconfig) {
    const config = new KubeConfig();
    config.loadFromFile(settings.kubeconfig);
    const { gitVersion } = await config.makeApiClient(VersionApi).getCode();
    cluster = { ...common, local: false, kubeconfigFile: settings.kubeconfig, kubernetesVersion: gitVersion, ...(settings.auditLog && { auditLog: settings.auditLog }) };
  } else {
    const binaries = await ensureBinaries();
    controlPlane = await startControlPlane({ binaries, directory: join(runDirectory, 'control-plane'), pidDirectory, auditLog: true });
    const kubeconfigFile = join(runDirectory, 'kubeconfig');
    await writeFile(kubeconfigFile, kubeconfigYaml(controlPlane), { mode: 0o600 });
    cluster = {
      ...common,
      local: true,
      kubeconfigFile,
      access: { server: controlPlane.server, ca: controlPlane.ca, token: controlPlane.token },
      kubernetesVersion: controlPlane.version,
      ...(controlPlane.auditLogPath && { auditLog: controlPlane.auditLogPath }),
    };
  }
  console.log(`e2e: ${cluster.local ? `kube-apiserver ${cluster.kubernetesVersion} at ${cluster.access!.server}` : `cluster of ${settings.kubeconfig}`}; run ${runId} in ${runDirectory}`);
  project.provide('e2e', cluster);

  return async () => {
    const problems: string[] = [];
    if (!cluster.local) await deleteRunObjects(clientsFor(kubeConfigFor(cluster)), runId).catch((error: Error) => problems.push(`cleanup: ${error.message}`));
    await controlPlane?.stop().catch((error: Error) => problems.push(error.message));
    const leaked = await reapLeftovers(pidDirectory);
    if (leaked.length > 0) problems.push(`left running by a test file (now killed): ${leaked.map(({ name, pid }) => `${name} (pid ${pid})`).join(', ')}`);
    if (settings.keep) console.log(`e2e: logs and data kept in ${runDirectory}`);
    else await rm(runDirectory, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`e2e teardown: ${problems.join('; ')}`);
  };
}
