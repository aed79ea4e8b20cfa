import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { PodpatternsError, errorMessage } from '../errors.js';

/** A serving certificate and key that belong together and are valid now. */
export interface ServingCertificate {
  cert: string;
  key: string;
  notAfter: Date;
  subject: string;
}

/** The API server speaks TLS 1.2 and 1.3; nothing older is offered. */
export const MIN_TLS_VERSION = 'TLSv1.2';

/**
 * TLS 1.3's suites, and on TLS 1.2 only AEAD suites with forward secrecy (ECDHE with AES-GCM or
 * ChaCha20-Poly1305): no CBC, no SHA-1 MACs, no static RSA key exchange. The API server's webhook client uses Go's
 * crypto/tls defaults, which prefer TLS 1.3 and put exactly these ECDHE AEAD suites first for TLS 1.2
 * (crypto/tls cipher_suites.go, cipherSuitesPreferenceOrder), so it always finds one.
 */
export const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function secureContextOptions(certificate: ServingCertificate): SecureContextOptions {
  return { cert: certificate.cert, key: certificate.key, minVersion: MIN_TLS_VERSION, ciphers: CIPHERS, honorCipherOrder: true };
}

/**
 * Checks a PEM certificate (chain) and key before they are served: both parse, the key is the certificate's,
 * and the certificate is valid now. Errors name the files.
 */
export function checkServingCertificate(cert: string, key: string, files: { cert: string; key: string }): ServingCertificate {
  const fail = (message: string, cause?: unknown): never => {
    throw new PodpatternsError('PODPATTERNS_ERR_TLS', message, { cause });
  };
  let certificate: X509Certificate | undefined;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    fail(`--tls-cert ${files.cert}: not a PEM certificate: ${errorMessage(error)}`, error);
  }
  let privateKey: KeyObject | undefined;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    fail(`--tls-key ${files.key}: not a PEM private key: ${errorMessage(error)}`, error);
  }
  if (!certificate!.checkPrivateKey(privateKey!)) fail(`--tls-key ${files.key} is not the key of the certificate in --tls-cert ${files.cert}`);
  const notAfter = new Date(certificate!.validTo);
  const notBefore = new Date(certificate!.validFrom);
  const now = Date.now();
  if (notAfter.getTime() <= now) fail(`--tls-cert ${files.cert}: the certificate expired on ${notAfter.toISOString()}`);
  if (notBefore.getTime() > now) fail(`--tls-cert ${files.cert}: the certificate is not valid before ${notBefore.toISOString()}`);
  const serving = { cert, key, notAfter, subject: certificate!.subject };
  try {
    createSecureContext(secureContextOptions(serving));
  } catch (error) {
    fail(`--tls-cert ${files.cert} / --tls-key ${files.key}: ${errorMessage(error)}`, error);
  }
  return serving;
}

/**
 * A certificate for localhost and 127.0.0.1 made at start when no --tls-cert is given, so the server runs on a
 * laptop; its CA is written to `caFile` for clients (curl --cacert, a webhook's caBundle).
 */
export async function developmentCertificate(caFile: string): Promise<ServingCertificate & { ca: string }> {
  // Loaded only here: the X.509 library and its dependencies are not needed to serve a given certificate.
  const { generateCertificates } = await import('../tls/certificates.js');
  const bundle = await generateCertificates({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], validityDays: 30 });
  try {
    await mkdir(dirname(caFile), { recursive: true });
    await writeFile(caFile, bundle.caCert, { mode: 0o644 });
  } catch (error) {
    throw new PodpatternsError('PODPATTERNS_ERR_TLS', `--dev-ca-file ${caFile}: cannot write the development CA: ${errorMessage(error)}`, { cause: error });
  }
  const serving = checkServingCertificate(bundle.cert, bundle.key, { cert: '(development certificate)', key: '(development key)' });
  return { ...serving, ca: bundle.caCert };
}
