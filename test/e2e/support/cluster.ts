import {
  AdmissionregistrationV1Api,
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Namespace,
} from '@kubernetes/client-node';

/** The cluster a run uses, as the global setup hands it to every test file (plain data only). */
export interface E2eCluster {
  /** Short random id: a suffix of every namespace and a label on every object the run creates. */
  runId: string;
  /** Temporary folder of the run; each test file works in a subfolder. */
  runDirectory: string;
  /** Records of started processes, checked for leftovers after the run. */
  pidDirectory: string;
  /** Started by the suite (etcd + kube-apiserver) rather than an existing cluster. */
  local: boolean;
  /** A kubeconfig file for child processes (`podpatterns serve` reads the cluster's versions through it). */
  kubeconfigFile: string;
  /** For the local control plane the client is built in memory from these. */
  access?: { server: string; ca: string; token: string };
  /** The API server's audit log (JSON lines), when this machine can read it. */
  auditLog?: string;
  /** `gitVersion` from /version, e.g. v1.37.1. */
  kubernetesVersion: string;
  /** Host the API server calls the webhooks at, and the address they listen on. */
  webhookHost: string;
  listenHost: string;
  /** The CLI file `podpatterns serve` runs from. */
  podpatternsEntry: string;
}

/** The label on every namespace and webhook configuration of a run. */
export const RUN_LABEL = 'podpatterns.io/e2e-run';

export function kubeConfigFor(cluster: Pick<E2eCluster, 'access' | 'kubeconfigFile'>): KubeConfig {
  const config = new KubeConfig();
  if (cluster.access) {
    const { server, ca, token } = cluster.access;
    config.loadFromOptions({
      clusters: [{ name: 'e2e', server, caData: Buffer.from(ca).toString('base64'), skipTLSVerify: false }],
      users: [{ name: 'admin', token }],
      contexts: [{ name: 'e2e', cluster: 'e2e', user: 'admin' }],
      currentContext: 'e2e',
    });
  } else {
    config.loadFromFile(cluster.kubeconfigFile);
  }
  return config;
}

export interface Clients {
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  admission: AdmissionregistrationV1Api;
}

export function clientsFor(config: KubeConfig): Clients {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    batch: config.makeApiClient(BatchV1Api),
    admission: config.makeApiClient(AdmissionregistrationV1Api),
  };
}

/** What the API server said when it refused a request (a metav1.Status). */
export interface ApiRefusal {
  code: number;
  reason: string;
  message: string;
}

/** The Status of a failed request, or undefined when `error` is not an API answer (the connection failed). */
export function refusalOf(error: unknown): ApiRefusal | undefined {
  if (!(error instanceof ApiException)) return undefined;
  const body: unknown = error.body;
  let status: { code?: number; reason?: string; message?: string } = {};
  try {
    status = typeof body === 'string' ? (JSON.parse(body) as typeof status) : ((body ?? {}) as typeof status);
  } catch {
    status = { message: String(body) };
  }
  return { code: status.code ?? error.code, reason: status.reason ?? '', message: status.message ?? String(body) };
}

/** Runs `request`, which must be refused; returns the refusal (fails with what happened otherwise). */
export async function refusal(request: Promise<unknown>): Promise<ApiRefusal> {
  try {
    await request;
  } catch (error) {
    const refused = refusalOf(error);
    if (refused) return refused;
    throw error;
  }
  throw new Error('the API server accepted the request');
}

/**
 * Creates the namespace, labelled for the run, with its `default` service account: a real cluster's
 * ServiceAccount admission plugin refuses pods until one exists, and the controller-manager that makes it may
 * be slower than the test (or, on the suite's own control plane, absent). Whoever creates it first wins.
 */
export async function createNamespace(clients: Clients, cluster: E2eCluster, name: string): Promise<void> {
  const body: V1Namespace = { metadata: { name, labels: { [RUN_LABEL]: cluster.runId } } };
  await clients.core.createNamespace({ body });
  await clients.core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: 'default' } } }).catch((error: unknown) => {
    if (refusalOf(error)?.code !== 409) throw error;
  });
}

/** Deletes what the run created in the cluster: its webhook configurations and admission policies, then its namespaces. */
export async function deleteRunObjects(clients: Clients, runId: string): Promise<void> {
  const labelSelector = `${RUN_LABEL}=${runId}`;
  await clients.admission.deleteCollectionValidatingWebhookConfiguration({ labelSelector });
  await clients.admission.deleteCollectionMutatingWebhookConfiguration({ labelSelector });
  await clients.admission.deleteCollectionValidatingAdmissionPolicyBinding({ labelSelector });
  await clients.admission.deleteCollectionValidatingAdmissionPolicy({ labelSelector });
  await clients.admission.deleteCollectionMutatingAdmissionPolicyBinding({ labelSelector });
  await clients.admission.deleteCollectionMutatingAdmissionPolicy({ labelSelector });
  const namespaces = await clients.core.listNamespace({ labelSelector });
  // Without a controller-manager a namespace stays Terminating for good; the local etcd goes away anyway.
  await Promise.all(namespaces.items.map((namespace) => clients.core.deleteNamespace({ name: namespace.metadata!.name! })));
}
