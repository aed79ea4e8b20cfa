import { connect, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support.js';

/** Real TLS handshakes against the real server, each client limited to what it offers. */
describe('TLS the webhook offers', () => {
  let server: TestServer;
  let port: number;

  beforeAll(async () => {
    server = await startTestServer();
    port = Number(new URL(server.url).port);
  });

  afterAll(async () => {
    await server.stop();
  });

  function handshake(options: ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca: server.ca, servername: 'localhost', ...options }, () => {
        const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
        socket.end();
        resolve(result);
      });
      socket.on('error', reject);
    });
  }

  it('refuses a TLS 1.2 client that only offers a CBC suite with a SHA-1 MAC', async () => {
    await expect(handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' })).rejects.toThrow(/handshake failure|no shared cipher|alert/i);
  });

  it('refuses a TLS 1.2 client that only offers a suite without forward secrecy or with CBC and SHA-256', async () => {
    await expect(handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' })).rejects.toThrow();
    await expect(handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' })).rejects.toThrow();
  });

  it('accepts a TLS 1.2 client offering ECDHE with AES-GCM or ChaCha20-Poly1305', async () => {
    await expect(handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).resolves.toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    await expect(handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' })).resolves.toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
  });

  it('accepts TLS 1.3, and picks it for a client that offers both', async () => {
    await expect(handshake({ minVersion: 'TLSv1.3' })).resolves.toMatchObject({ protocol: 'TLSv1.3' });
    await expect(handshake({})).resolves.toMatchObject({ protocol: 'TLSv1.3' });
  });

  it('refuses TLS 1.1', async () => {
    await expect(handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow();
  });
});
