import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { get } from './network.js';

export interface Backend {
  name: string;
  port: number;
}

interface Tracked extends Backend {
  ready: boolean;
  connections: number;
}

/**
 * What a Service gives the API server in front of webhook replicas, as plain TCP on loopback: a connection
 * goes to one ready backend (round robin), readiness is each backend's `/readyz` polled like a readiness probe,
 * and a backend that stops being ready gets no new connection while the ones it has stay open (conntrack keeps
 * established flows to a removed endpoint). TLS passes through untouched. Nothing is retried: a connection to
 * a backend that refuses it is closed, and counted.
 */
export class ServiceProxy {
  private readonly backends: Tracked[] = [];
  private readonly sockets = new Set<Socket>();
  private next = 0;
  private poller: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  /** Connections accepted, and those that found no ready backend or whose backend refused. */
  readonly stats = { accepted: 0, noReadyBackend: 0, backendRefused: 0 };

  constructor(private readonly options: { ca: string; pollMs?: number }) {}

  async listen(host: string): Promise<number> {
    const server = createServer((client) => this.route(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
    this.poller = setInterval(() => void this.probe(), this.options.pollMs ?? 100);
    return (server.address() as AddressInfo).port;
  }

  add(backend: Backend): void {
    this.backends.push({ ...backend, ready: false, connections: 0 });
  }

  remove(name: string): void {
    const index = this.backends.findIndex((backend) => backend.name === name);
    if (index >= 0) this.backends.splice(index, 1);
  }

  isReady(name: string): boolean {
    return this.backends.some((backend) => backend.name === name && backend.ready);
  }

  /** Connections routed to each backend so far. */
  connectionsTo(name: string): number {
    return this.backends.find((backend) => backend.name === name)?.connections ?? 0;
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private route(client: Socket): void {
    this.stats.accepted++;
    const ready = this.backends.filter((backend) => backend.ready);
    if (ready.length === 0) {
      this.stats.noReadyBackend++;
      client.destroy();
      return;
    }
    const backend = ready[this.next++ % ready.length]!;
    backend.connections++;
    const upstream = createConnection({ host: '127.0.0.1', port: backend.port });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    }
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') this.stats.backendRefused++;
      client.destroy();
    });
    client.once('error', () => upstream.destroy());
    // A clean close travels through the pipes (end → end) so buffered bytes still arrive; a reset is passed on.
    client.once('close', (hadError) => hadError && upstream.destroy());
    upstream.once('close', (hadError) => hadError && client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private async probe(): Promise<void> {
    await Promise.all(
      this.backends.map(async (backend) => {
        try {
          backend.ready = (await get(`https://127.0.0.1:${backend.port}/readyz`, { ca: this.options.ca, timeoutMs: 1000 })).status === 200;
        } catch {
          backend.ready = false;
        }
      }),
    );
  }
}
