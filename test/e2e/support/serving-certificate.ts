import { X509Certificate } from 'node:crypto';
import { mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { generateCertificates, type CertificateBundle } from '../../../src/tls/certificates.js';

/** A CA for a test file's webhook servers, and serving certificates it signs for the advertised host. */
export class WebhookCa {
  private constructor(
    readonly cert: string,
    private readonly key: string,
    private readonly host: string,
  ) {}

  static async create(host: string): Promise<WebhookCa> {
    const bundle = await generateCertificates(servingNames(host));
    return new WebhookCa(bundle.caCert, bundle.caKey, host);
  }

  /** Base64 PEM, as a webhook's `caBundle` wants it. */
  get caBundle(): string {
    return Buffer.from(this.cert).toString('base64');
  }

  /** A new serving certificate (new key, new serial) for the host and 127.0.0.1. */
  issue(): Promise<CertificateBundle> {
    return generateCertificates({ ...servingNames(this.host), ca: { cert: this.cert, key: this.key } });
  }
}

function servingNames(host: string) {
  const ips = new Set(['127.0.0.1']);
  const dns = new Set(['localhost']);
  (isIP(host) ? ips : dns).add(host);
  return { dnsNames: [...dns], ipAddresses: [...ips], validityDays: 1 };
}

export function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber.toUpperCase();
}

/**
 * A folder laid out like a Kubernetes Secret volume: `tls.crt` and `tls.key` are symlinks through `..data` to
 * a timestamped folder, and an update swaps `..data` in one rename (the kubelet's AtomicWriter), so a reader
 * never sees a new certificate with an old key.
 */
export class SecretVolume {
  private generation = 0;

  constructor(readonly directory: string) {}

  get certFile(): string {
    return join(this.directory, 'tls.crt');
  }

  get keyFile(): string {
    return join(this.directory, 'tls.key');
  }

  async write(bundle: Pick<CertificateBundle, 'cert' | 'key'>): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const version = `..${Date.now()}_${++this.generation}`;
    await mkdir(join(this.directory, version));
    await writeFile(join(this.directory, version, 'tls.crt'), bundle.cert);
    await writeFile(join(this.directory, version, 'tls.key'), bundle.key, { mode: 0o600 });
    const data = join(this.directory, '..data');
    const previous = await readlink(data).catch(() => undefined);
    await symlink(version, join(this.directory, '..data_tmp'));
    await rename(join(this.directory, '..data_tmp'), data);
    for (const name of ['tls.crt', 'tls.key']) await symlink(join('..data', name), join(this.directory, name)).catch(() => undefined);
    if (previous) await rm(join(this.directory, previous), { recursive: true, force: true });
  }
}

/** The serial number of the certificate a TLS server on 127.0.0.1:`port` presents to a new connection. */
export function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      const { serialNumber } = socket.getPeerCertificate();
      socket.end();
      resolve(serialNumber.toUpperCase());
    });
    socket.once('error', reject);
  });
}
