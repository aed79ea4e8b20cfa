import type { KubeConfig } from '@kubernetes/client-node';
import { request, type RequestOptions } from 'node:https';

/** What the API server answered, untouched: the typed clients would drop fields they do not know. */
export interface RawAnswer {
  status: number;
  body: unknown;
  warnings: string[];
}

/** Collection paths of the kinds podpatterns reads a pod from. */
const COLLECTIONS: Readonly<Record<string, string>> = {
  Pod: 'api/v1/namespaces/{ns}/pods',
  ReplicationController: 'api/v1/namespaces/{ns}/replicationcontrollers',
  PodTemplate: 'api/v1/namespaces/{ns}/podtemplates',
  Deployment: 'apis/apps/v1/namespaces/{ns}/deployments',
  StatefulSet: 'apis/apps/v1/namespaces/{ns}/statefulsets',
  DaemonSet: 'apis/apps/v1/namespaces/{ns}/daemonsets',
  ReplicaSet: 'apis/apps/v1/namespaces/{ns}/replicasets',
  Job: 'apis/batch/v1/namespaces/{ns}/jobs',
  CronJob: 'apis/batch/v1/namespaces/{ns}/cronjobs',
};

export function collectionPath(kind: string, namespace: string): string {
  const path = COLLECTIONS[kind];
  if (!path) throw new Error(`no collection path for kind ${kind}`);
  return `/${path.replace('{ns}', namespace)}`;
}

/** One request to the API server of `config`, authenticated as the config says; JSON in and out. */
export async function rawRequest(config: KubeConfig, method: string, path: string, body?: unknown): Promise<RawAnswer> {
  const server = new URL(config.getCurrentCluster()!.server);
  const options: RequestOptions = { method, hostname: server.hostname, port: server.port, path, headers: { 'content-type': 'application/json', accept: 'application/json' } };
  await config.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const outgoing = request(options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // Not JSON: keep the text.
        }
        const header = response.headers.warning;
        const warnings = (Array.isArray(header) ? header : header ? [header] : []).flatMap(splitWarnings);
        resolve({ status: response.statusCode ?? 0, body: parsed, warnings });
      });
    });
    outgoing.setTimeout(30_000, () => outgoing.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
    outgoing.on('error', reject);
    outgoing.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** `299 - "text", 299 - "other"` → the texts (RFC 7234 warn-text, as the API server writes it). */
function splitWarnings(header: string): string[] {
  return [...header.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]!.replace(/\\(.)/g, '$1'));
}
