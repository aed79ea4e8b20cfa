import { isInputError, jsonTextItems, readManifestTexts, YamlReader, type InputError, type ManifestDocument, type ManifestText } from '../input/manifest.js';
import { collectSources, type ManifestSource, type StdinReader } from '../input/sources.js';
import { errorMessage } from '../errors.js';
import type { Rule } from '../engine/types.js';
import type { AuditError, AuditReport } from '../report/types.js';
import { FileAudit, type AuditSettings } from './check.js';
import type { DocumentSink } from './sink.js';

export type { AuditSettings } from './check.js';

export interface AuditOptions {
  /**
   * Threads that parse and check documents (see parallel.ts); 1 checks them on the main thread. Workers are
   * only started once the input is large enough to pay for their start-up (`parallelFrom`).
   */
  jobs?: number;
  /** Input from which workers are started: bytes of the files named, or characters read so far; PARALLEL_FROM unless a test sets it. */
  parallelFrom?: number;
  /**
   * The entry point of worker threads and the rules it knows: without it, or when the settings have a rule it
   * does not know, everything is checked on the main thread.
   */
  worker?: { url: URL; rules: readonly Rule[] };
  /** Filled in with the worker threads started and the batches they were sent. */
  usage?: { workers: number; batches: number };
}

/**
 * Input from which worker threads pay for themselves. Measured on 1–9 MB YAML streams with two workers: they
 * cost 0.4–0.9 s of CPU more than one thread (starting, each loading the engine and the parser, warming up
 * their own JIT, and the results sent back), while one thread checks about 4 MB a second: below this size
 * the second core saves little more than that, and nothing when other work already keeps it busy.
 */
export const PARALLEL_FROM = 8 << 20;
/**
 * Worker threads when neither `--jobs` nor PODPATTERNS_JOBS says: none. Measured on a quiet 2-core machine
 * (bench:audit), two workers made JSON Lists and YAML streams slower (they cost 30-50% more CPU, and the main
 * thread's reading, cutting and merging is the limit) and only an input of many files faster (50 copies of the
 * real-world corpus: 8.0 s -> 5.3 s, at 2x the memory). Workers are for machines with cores to spare.
 */
export const DEFAULT_JOBS = 1;

/** Reads, parses and checks everything the command line names: the whole `audit` command but the output. */
export async function auditPaths(paths: readonly string[], settings: AuditSettings, readStdin: StdinReader, options: AuditOptions = {}): Promise<AuditReport> {
  const collected = await collectSources(paths, readStdin);
  const inputErrors: InputError[] = [...collected.errors];
  const audit = new FileAudit(settings);
  let jobs = options.jobs ?? DEFAULT_JOBS;
  const parallelFrom = options.parallelFrom ?? PARALLEL_FROM;
  const known = collected.sources.reduce((sum, source) => sum + (source.size ?? 0), 0);
  const inThread = new InThread(audit, inputErrors);
  let sink: DocumentSink = inThread;
  /** Worker threads from here on, if there are workers that know the rules. */
  const startWorkers = async (source: ManifestSource | undefined, index: number): Promise<void> => {
    const { worker } = options;
    if (!worker || !settings.rules.every((rule) => worker.rules.includes(rule))) {
      jobs = 1;
      return;
    }
    const { WorkerSink } = await import('./parallel.js');
    sink = new WorkerSink(audit, settings, inputErrors, jobs, worker.url, options.usage);
    if (options.usage) options.usage.workers = jobs;
    if (source) sink.begin(source, index);
  };
  try {
    if (jobs > 1 && known >= parallelFrom) await startWorkers(undefined, 0);
    let files = 0;
    for (const source of collected.sources) {
      sink.begin(source, 0);
      let read = true;
      for await (const text of readSource(source)) {
        if (isInputError(text) && text.code === 'PODPATTERNS_ERR_INPUT_READ') read = false;
        await sink.add(text);
        if (sink === inThread && jobs > 1 && inThread.length >= parallelFrom) await startWorkers(source, inThread.index);
      }
      if (read) files++;
    }
    await sink.finish();
    const report = await audit.finish();
    report.files = files;
    report.errors = [...inputErrors.map(toAuditError), ...report.errors];
    return report;
  } finally {
    await sink.close();
  }
}

/** The texts of a source, a failure to read it as an error in their place. */
async function* readSource(source: ManifestSource): AsyncGenerator<ManifestText | InputError> {
  try {
    yield* readManifestTexts(source.open(), source.name, source.size !== undefined ? { size: source.size } : {});
  } catch (error) {
    yield { source: source.name, code: 'PODPATTERNS_ERR_INPUT_READ', message: `cannot be read: ${errorMessage(error)}` };
  }
}

/** Parses and checks documents as they come, on this thread. */
class InThread implements DocumentSink {
  private yaml = new YamlReader('');
  private path: string | undefined;
  /** The number of the next YAML document of the source. */
  index = 0;
  /** Characters checked so far. */
  length = 0;

  constructor(
    private readonly audit: FileAudit,
    private readonly inputErrors: InputError[],
  ) {}

  begin(source: ManifestSource, index: number): void {
    this.yaml = new YamlReader(source.name, index);
    this.index = index;
    this.path = source.path;
  }

  add(text: ManifestText | InputError): void {
    if (isInputError(text)) {
      this.inputErrors.push(text);
      return;
    }
    const items = text.format === 'yaml' ? this.yaml.read(text.chunk) : jsonTextItems(text.text, this.yaml.source);
    if (text.format === 'yaml') this.index++;
    this.length += text.format === 'yaml' ? text.chunk.text.length : text.text.length;
    for (const item of items) {
      if (isInputError(item)) this.inputErrors.push(item);
      else this.audit.check(item, this.path);
    }
  }

  finish(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Checks documents already read (the resources of a policy test): the audit of `auditPaths` without the reading. */
export async function auditDocuments(documents: readonly ManifestDocument[], settings: AuditSettings): Promise<AuditReport> {
  const audit = new FileAudit(settings);
  for (const document of documents) audit.check(document);
  return audit.finish();
}

function toAuditError(error: InputError): AuditError {
  return { file: error.source, ...(error.line !== undefined && { line: error.line }), code: error.code, message: error.message };
}
