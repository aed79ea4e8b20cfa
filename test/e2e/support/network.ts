import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port nothing listens on right now (the kernel picks it; another process could still take it before use). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Probe {
  status: number;
  body: string;
}

/** One GET over HTTP(S); `ca` is the only CA trusted. Never throws for a status, only for no answer. */
export function get(url: string, options: { ca?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Probe> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(url, { method: 'GET', ...(options.ca && { ca: options.ca }), headers: options.headers ?? {}, timeout: options.timeoutMs ?? 2000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`GET ${url}: no answer within ${options.timeoutMs ?? 2000} ms`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/**
 * Polls until `check` returns a value (not undefined), or throws after `timeoutMs` with the last reason.
 * `check` may throw: that counts as not yet.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, options: { timeoutMs?: number; intervalMs?: number; abort?: () => Promise<string | undefined> } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: string;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      last = 'not yet';
    } catch (error) {
      last = (error as Error).message;
    }
    const reason = await options.abort?.();
    if (reason !== undefined) throw new Error(`${what}: ${reason}`);
    if (Date.now() > deadline) throw new Error(`${what}: still not the case after ${options.timeoutMs ?? 30_000} ms (last: ${last})`);
    await sleep(options.intervalMs ?? 100);
  }
}
