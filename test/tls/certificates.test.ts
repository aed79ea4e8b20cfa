import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateCertificates } from '../../src/tls/certificates.js';

describe('generateCertificates', () => {
  it('issues a serving certificate for the names asked, signed by the CA it returns', async () => {
    const bundle = await generateCertificates({ dnsNames: ['podpatterns.system.svc', 'localhost'], ipAddresses: ['127.0.0.1'], validityDays: 30 });
    const ca = new X509Certificate(bundle.caCert);
    const cert = new X509Certificate(bundle.cert);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost('podpatterns.system.svc')).toBe('podpatterns.system.svc');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('other.example.com')).toBeUndefined();
    expect(cert.checkPrivateKey(createPrivateKey(bundle.key))).toBe(true);
    const lifetimeDays = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    expect(lifetimeDays).toBeGreaterThan(29);
    expect(lifetimeDays).toBeLessThan(31);
  });

  it('signs with an existing CA when given one', async () => {
    const first = await generateCertificates({ dnsNames: ['a.local'] });
    const second = await generateCertificates({ dnsNames: ['b.local'], ca: { cert: first.caCert, key: first.caKey } });
    expect(second.caCert).toBe(first.caCert);
    expect(new X509Certificate(second.cert).verify(new X509Certificate(first.caCert).publicKey)).toBe(true);
  });
});
