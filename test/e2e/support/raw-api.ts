import { request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** What the API server answered: the status, the body as sent (no model round trip), the warnings. */
export interface RawAnswer {
  status: number;
  body: unknown;
  warnings: string[];
}

/** Every kind podpatterns reads a pod from. */
const COLLECTIONS: Readonly<Record<string, string>> = {
  'batch/v1 Job': '/apis/batch/v1/namespaces/{namespace}/jobs',
  'batch/v1 CronJob': '/apis/batch/v1/namespaces/{namespace}/cronjobs',
  'v1 Pod': '/api/v1/namespaces/{namespace}/pods',
  'v1 ReplicationController': '/api/v1/namespaces/{namespace}/replicationcontrollers',
  'v1 PodTemplate': '/api/v1/namespaces/{namespace}/podtemplates',
  'apps/v1 Deployment': '/apis/apps/v1/namespaces/{namespace}/deployments',
  'apps/v1 StatefulSet': '/apis/apps/v1/namespaces/{namespace}/statefulsets',
  'apps/v1 DaemonSet': '/apis/apps/v1/namespaces/{namespace}/daemonsets',
  'apps/v1 ReplicaSet': '/apis/apps/v1/namespaces/{namespace}/replicasets',
};

/**
 * Creates and reads objects of every pod-bearing kind as raw JSON. The typed clients of @kubernetes/client-node serialize
 * through their models, which drop fields they do not know; the migration must see the object as written.
 */
export class RawApi {
  constructor(private readonly config: KubeConfig) {}

  create(namespace: string, object: { apiVersion?: string; kind?: string }, options: { dryRun?: boolean } = {}): Promise<RawAnswer> {
    return this.send('POST', collection(namespace, object) + (options.dryRun ? '?dryRun=All' : ''), object);
  }

  read(namespace: string, object: { apiVersion?: string; kind?: string; metadata?: { name?: string } }): Promise<RawAnswer> {
    return this.send('GET', `${collection(namespace, object)}/${object.metadata?.name ?? ''}`);
  }

  /** Whether create() and read() know where objects of this kind live. */
  static serves(object: { apiVersion?: string; kind?: string }): boolean {
    return `${object.apiVersion} ${object.kind}` in COLLECTIONS;
  }

  /** Any request, e.g. to create a ValidatingAdmissionPolicy. */
  async send(method: string, path: string, body?: unknown): Promise<RawAnswer> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const options: RequestOptions = { method, headers: { accept: 'application/json', ...(payload !== undefined && { 'content-type': 'application/json' }) } };
    await this.config.applyToHTTPSOptions(options);
    return new Promise((resolve, reject) => {
      const outgoing = request(new URL(path, cluster.server), options, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('error', reject);
        response.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON (a proxy's error page): kept as text for the message.
          }
          resolve({ status: response.statusCode ?? 0, body: parsed, warnings: (response.headersDistinct.warning ?? []).flatMap(parseWarnings) });
        });
      });
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  }
}

function collection(namespace: string, object: { apiVersion?: string; kind?: string }): string {
  const template = COLLECTIONS[`${object.apiVersion} ${object.kind}`];
  if (!template) throw new Error(`RawApi: no collection for ${object.apiVersion} ${object.kind}`);
  return template.replace('{namespace}', namespace);
}

/**
 * `299 - "text"` (RFC 7234), several per header when the server folded them. The API server writes the text as
 * UTF-8, which Node hands over as latin1 characters.
 */
function parseWarnings(header: string): string[] {
  return [...Buffer.from(header, 'latin1').toString('utf8').matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]!.replace(/\\(.)/g, '$1'));
}
