import type { IncomingMessage, OutgoingHttpHeaders, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createGunzip } from 'node:zlib';
import { PodpatternsError, errorMessage } from '../errors.js';
import { nodeHttp } from '../node-http.js';
import type { ClusterAccess, LoadedKubeConfig } from './kubeconfig.js';

export type Verb = 'list' | 'get' | 'create' | 'update';

const METHODS: Readonly<Record<Verb, string>> = { list: 'GET', get: 'GET', create: 'POST', update: 'PUT' };

export interface ApiCall {
  verb: Verb;
  path: string;
  query?: Readonly<Record<string, string | number | undefined>>;
  body?: unknown;
  /** Instead of plain JSON, e.g. a PartialObjectMetadataList for metadata only. */
  accept?: string;
}

/** Idle time after which a request is abandoned; a page of 500 pods arrives well within it. */
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** A request the API server answered with an error status: its metav1.Status. */
export class ApiStatusError extends Error {
  constructor(
    readonly call: Pick<ApiCall, 'verb' | 'path'>,
    readonly code: number,
    /** `Forbidden`, `NotFound`, `Expired`, `Conflict`, `AlreadyExists`, … */
    readonly reason: string,
    readonly serverMessage: string,
    /** Set on 410 Expired: lets a paged list go on from the latest snapshot. */
    readonly continueToken?: string,
  ) {
    super(`${call.verb} ${call.path}: ${code} ${reason}: ${serverMessage}`);
    this.name = 'ApiStatusError';
  }
}

/**
 * The one client of the Kubernetes API: raw JSON requests to the API server, with the connection settings and
 * credentials of a kubeconfig (client-node's applyToHTTPSOptions: CA, client certificate, token, exec and
 * auth-provider plugins, proxy) or of the pod's service account (kubeconfig.ts). The generated typed clients are
 * not used: their ObjectSerializer keeps only the fields the client's models know and turns timestamps into Dates,
 * and the rules must see the object the API server stored, including fields newer than the client.
 */
export class KubeApi {
  readonly server: string;
  /** Where the credentials come from, for messages: `kubeconfig /home/me/.kube/config, context prod`. */
  readonly source: string;
  private readonly access: ClusterAccess;
  private readonly onRequest: ((call: ApiCall) => void) | undefined;
  private readonly idleTimeoutMs: number;

  constructor(loaded: Pick<LoadedKubeConfig, 'access' | 'source'>, options: { onRequest?: (call: ApiCall) => void; idleTimeoutMs?: number } = {}) {
    this.access = loaded.access;
    this.server = loaded.access.server;
    this.source = loaded.source;
    this.onRequest = options.onRequest;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  async call<T>(call: ApiCall): Promise<T> {
    this.onRequest?.(call);
    const url = new URL(this.server);
    // A server URL may carry a path prefix (a proxy in front of the API server): keep it.
    url.pathname = joinPaths(url.pathname, call.path);
    for (const [key, value] of Object.entries(call.query ?? {})) if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    const options: RequestOptions = { headers: {} };
    try {
      await this.access.apply(options);
    } catch (error) {
      throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `credentials of ${this.source} for ${this.server}: ${describeCause(error)}`, { cause: error });
    }
    const body = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
    options.method = METHODS[call.verb];
    options.headers = {
      ...(options.headers as OutgoingHttpHeaders),
      accept: call.accept ?? 'application/json',
      'accept-encoding': 'gzip',
      'user-agent': 'podpatterns',
      ...(body && { 'content-type': 'application/json', 'content-length': String(body.length) }),
    };
    let response: { status: number; text: string };
    try {
      response = await send(url, options, body, this.idleTimeoutMs);
    } catch (error) {
      throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `cannot reach the API server ${this.server} (${options.method} ${call.path}): ${describeCause(error)}`, { cause: error });
    }
    if (response.status < 200 || response.status >= 300) throw statusError(call, response.status, response.text);
    try {
      return JSON.parse(response.text) as T;
    } catch (error) {
      // Seen behind proxies and load balancers that answer with an HTML page.
      throw new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `${options.method} ${this.server}${call.path}: the answer is not JSON (${errorMessage(error)}): ${response.text.slice(0, 200)}`, { cause: error });
    }
  }
}

/**
 * What went wrong underneath, in words: a connection refused on every address of a host comes as an
 * AggregateError with an empty message (Node's happy eyeballs), and wrapped errors keep the reason in `cause`.
 */
export function describeCause(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 5; depth++) {
    if (!(current instanceof Error)) {
      parts.push(String(current));
      break;
    }
    const inner = current instanceof AggregateError ? [...new Set(current.errors.map((item) => describeCause(item)))].join('; ') : '';
    const code = (current as NodeJS.ErrnoException).code;
    const message = current.message || inner || code || current.name;
    if (!parts.some((part) => part.includes(message))) parts.push(code && !message.includes(code) ? `${message} (${code})` : message);
    current = current.cause;
  }
  return parts.join(': ');
}

function joinPaths(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function send(url: URL, options: RequestOptions, body: Buffer | undefined, idleTimeoutMs: number): Promise<{ status: number; text: string }> {
  const request = url.protocol === 'http:' ? nodeHttp().request : httpsRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { ...options, timeout: idleTimeoutMs }, (response) => {
      readBody(response).then((text) => resolve({ status: response.statusCode ?? 0, text }), reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${idleTimeoutMs / 1000}s`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function readBody(response: IncomingMessage): Promise<string> {
  const stream = response.headers['content-encoding'] === 'gzip' ? response.pipe(createGunzip()) : response;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function statusError(call: ApiCall, code: number, text: string): ApiStatusError {
  let status: { reason?: unknown; message?: unknown; metadata?: { continue?: unknown } } = {};
  try {
    status = JSON.parse(text) as typeof status;
  } catch {
    status = { message: text.trim().slice(0, 500) };
  }
  const continueToken = typeof status.metadata?.continue === 'string' && status.metadata.continue !== '' ? status.metadata.continue : undefined;
  return new ApiStatusError(
    { verb: call.verb, path: call.path },
    code,
    typeof status.reason === 'string' ? status.reason : '',
    typeof status.message === 'string' && status.message !== '' ? status.message : `HTTP ${code}`,
    continueToken,
  );
}
