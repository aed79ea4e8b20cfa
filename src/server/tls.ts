import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { PodpatternsError, errorMessage } from '../policy/errors.js';

/** A serving certificate and key that belong together and are valid now. */
export interface ServingCertificate {
  cert: string;
  key: string;
  notAfter: Date;
  subject: string;
}

/** The API server speaks TLS 1.2 and 1.3; nothing older is offered. */
export const MIN_TLS_VERSION = 'TLSv1.2';

export function secureContextOptions(certificate: ServingCertificate): SecureContextOptions {
  return { cert: certificate.cert, key: certificate.key, minVersion: MIN_TLS_VERSION };
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
