// @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface CertificateRequest {
  /** DNS names of the serving certificate (the first is its common name). */
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  /** Validity of the serving certificate, in days. The CA lives ten times as long. */
  validityDays?: number;
  /** An existing CA to sign with (PEM); a new one is made when absent. */
  ca?: { cert: string; key: string };
}

export interface CertificateBundle {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

/**
 * Makes a CA and a serving certificate signed by it (ECDSA P-256, PEM). Used for development certificates
 * at `podpatterns serve` start and by `certs/generate.ts` for users who bring their own TLS.
 */
export async function generateCertificates(request: CertificateRequest): Promise<CertificateBundle> {
  const validityDays = request.validityDays ?? 365;
  const now = new Date();
  const notBefore = new Date(now.getTime() - 5 * 60_000); // tolerate small clock skew between hosts
  const ca = request.ca ? await importCa(request.ca) : await createCa(notBefore, days(now, validityDays * 10));
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const [commonName = 'podpatterns'] = request.dnsNames;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${commonName}`,
    issuer: ca.cert.subject,
    notBefore,
    notAfter: days(now, validityDays),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...request.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return {
    caCert: ca.cert.toString('pem'),
    caKey: ca.keyPem,
    cert: cert.toString('pem'),
    key: await privateKeyPem(keys.privateKey),
  };
}

interface Ca {
  cert: x509.X509Certificate;
  key: CryptoKey;
  keyPem: string;
}

async function createCa(notBefore: Date, notAfter: Date): Promise<Ca> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=podpatterns CA',
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, key: keys.privateKey, keyPem: await privateKeyPem(keys.privateKey) };
}

async function importCa(ca: { cert: string; key: string }): Promise<Ca> {
  const cert = new x509.X509Certificate(ca.cert);
  const der = x509.PemConverter.decodeFirst(ca.key);
  const key = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
  return { cert, key, keyPem: ca.key };
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function days(from: Date, count: number): Date {
  return new Date(from.getTime() + count * 86_400_000);
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // a positive serial number
  return Buffer.from(bytes).toString('hex');
}
