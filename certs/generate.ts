/**
 * Makes a CA and a serving certificate for the webhook Service, for `tls.source=existingSecret`.
 *
 *   npx tsx certs/generate.ts --namespace podpatterns-system --service podpatterns --out DIR
 *
 * See certs/README.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isEntryPoint } from '../src/cli/entry-point.js';
import { generateCertificates } from '../src/tls/certificates.js';

export interface GenerateOptions {
  namespace: string;
  service: string;
  out: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** Adds localhost and 127.0.0.1, for a server run on a developer's machine. */
  local?: boolean;
  validityDays?: number;
  /** Replace files already in `out`. */
  force?: boolean;
}

export interface GeneratedFiles {
  caCert: string;
  cert: string;
  key: string;
  dnsNames: string[];
  ipAddresses: string[];
  /** base64 of the CA's PEM, the value of `tls.caBundle`. */
  caBundle: string;
}

const USAGE = `usage: generate.ts --namespace NS --service NAME --out DIR [--dns NAME]... [--ip ADDRESS]... [--local] [--days N] [--force]`;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const FILE_NAMES = { caCert: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export async function generate(options: GenerateOptions): Promise<GeneratedFiles> {
  if (!DNS_LABEL.test(options.namespace)) throw new UsageError(`--namespace ${JSON.stringify(options.namespace)}: not a namespace name (DNS-1123 label)`);
  if (!DNS_LABEL.test(options.service)) throw new UsageError(`--service ${JSON.stringify(options.service)}: not a Service name (DNS-1123 label)`);
  for (const name of options.dnsNames ?? []) {
    if (!DNS_NAME.test(name)) throw new UsageError(`--dns ${JSON.stringify(name)}: not a DNS name`);
  }
  for (const address of options.ipAddresses ?? []) {
    if (isIP(address) === 0) throw new UsageError(`--ip ${JSON.stringify(address)}: not an IPv4 or IPv6 address`);
  }
  const validityDays = options.validityDays ?? 365;
  if (!Number.isInteger(validityDays) || validityDays < 1) throw new UsageError(`--days ${validityDays}: must be a whole number of days, at least 1`);

  // The API server calls <service>.<namespace>.svc; the .cluster.local form serves in-cluster clients that use it.
  const serviceHost = `${options.service}.${options.namespace}.svc`;
  const dnsNames = unique([serviceHost, `${serviceHost}.cluster.local`, ...(options.dnsNames ?? []), ...(options.local ? ['localhost'] : [])]);
  const ipAddresses = unique([...(options.ipAddresses ?? []), ...(options.local ? ['127.0.0.1'] : [])]);

  // The CA key is never written: this CA signs one certificate and can sign nothing else. Renewing means
  // running the script again and updating both the Secret and tls.caBundle.
  const bundle = await generateCertificates({ dnsNames, ipAddresses, validityDays });
  const out = resolve(options.out);
  await mkdir(out, { recursive: true });
  const files = { caCert: bundle.caCert, cert: bundle.cert, key: bundle.key };
  const paths = Object.values(FILE_NAMES).map((name) => join(out, name));
  if (options.force) {
    await Promise.all(paths.map((path) => rm(path, { force: true })));
  } else {
    const existing = paths.filter((path) => existsSync(path));
    if (existing.length > 0) throw new UsageError(`not overwriting ${existing.join(', ')}; pass --force to replace`);
  }
  for (const [field, name] of Object.entries(FILE_NAMES) as [keyof typeof FILE_NAMES, string][]) {
    // 'wx' creates the file, so the mode applies (a mode is ignored when a file already exists).
    await writeFile(join(out, name), files[field], { flag: 'wx', mode: field === 'key' ? 0o600 : 0o644 });
  }
  return { ...files, dnsNames, ipAddresses, caBundle: Buffer.from(bundle.caCert).toString('base64') };
}

/** The commands that install the result, as printed after generation. */
export function instructions(options: Pick<GenerateOptions, 'namespace' | 'service' | 'out'>, generated: GeneratedFiles): string {
  const out = resolve(options.out);
  const secret = `${options.service}-tls`;
  return [
    `Wrote ${join(out, FILE_NAMES.caCert)}, ${join(out, FILE_NAMES.cert)} and ${join(out, FILE_NAMES.key)} (mode 0600),`,
    `for ${[...generated.dnsNames, ...generated.ipAddresses].join(', ')}.`,
    '',
    'Create the Secret:',
    `  kubectl create secret tls ${secret} --namespace ${options.namespace} --cert=${join(out, FILE_NAMES.cert)} --key=${join(out, FILE_NAMES.key)}`,
    '',
    `Install the chart with it (the chart names its Service after the release, so the release is ${options.service}):`,
    `  helm upgrade --install ${options.service} charts/podpatterns --namespace ${options.namespace} \\`,
    `    --set tls.source=existingSecret --set tls.existingSecret=${secret} \\`,
    `    --set tls.caBundle=${generated.caBundle}`,
    '',
    'caBundle (base64 of ca.crt):',
    generated.caBundle,
    '',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: GenerateOptions;
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        namespace: { type: 'string' },
        service: { type: 'string' },
        out: { type: 'string' },
        dns: { type: 'string', multiple: true },
        ip: { type: 'string', multiple: true },
        local: { type: 'boolean' },
        days: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const missing = (['namespace', 'service', 'out'] as const).filter((name) => !values[name]);
    if (missing.length > 0) throw new UsageError(`missing ${missing.map((name) => `--${name}`).join(', ')}`);
    options = {
      namespace: values.namespace!,
      service: values.service!,
      out: values.out!,
      dnsNames: values.dns ?? [],
      ipAddresses: values.ip ?? [],
      local: values.local ?? false,
      force: values.force ?? false,
      ...(values.days !== undefined && { validityDays: Number(values.days) }),
    };
  } catch (error) {
    process.stderr.write(`generate.ts: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  try {
    const generated = await generate(options);
    process.stdout.write(instructions(options, generated));
    return 0;
  } catch (error) {
    process.stderr.write(`generate.ts: ${(error as Error).message}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

if (isEntryPoint(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
