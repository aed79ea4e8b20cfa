import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { sliceList } from '../input/json-list.js';
import { isInputError, jsonTextItems, type InputError, type ManifestText } from '../input/manifest.js';
import type { ManifestSource } from '../input/sources.js';
import type { Part, PartItem, PartResult, WorkerSettings } from './batch.js';
import type { AuditSettings, CheckedDocument, FileAudit } from './check.js';
import type { DocumentSink } from './sink.js';
import { WorkerPool } from './pool.js';

/** Characters of documents sent to a worker at once: enough to make a message's cost small beside the work. */
const BATCH_LENGTH = 256 << 10;
/** A JSON text from this length on is cut into slices of its List's items, if it is a List. */
const SLICE_LISTS_FROM = 2 * BATCH_LENGTH;
/** Batches in flight per worker: one being checked and one waiting, so no worker idles while results are merged. */
const BATCHES_PER_WORKER = 2;

/** A JSON List cut into slices, checked by several workers, put back together as the one document it is. */
interface SlicedText {
  source: ManifestSource;
  text: string;
  slices: number;
  results: PartResult[];
}

/** What the main thread keeps of a part while it is checked: what is needed to set its documents aside. */
interface Sent {
  parts: Part[];
  lists: Array<SlicedText | undefined>;
  paths: Array<string | undefined>;
  result: Promise<PartResult[]>;
}

/**
 * Parses and checks documents in worker threads, batch by batch, and records their results in input order,
 * so the report is the one checking them on the main thread gives. Batches in flight are bounded: reading
 * waits for the oldest one when the workers are behind, so memory does not grow with the input. A worker
 * sends back what the report needs (findings with lines, errors, exemptions, counts, the names of objects
 * other rules may read), never the parsed objects. Documents that need related objects, and Lists a worker
 * could not judge alone (a slice is not valid JSON, a rule failed, an HPA reads other objects), are checked
 * on the main thread as they would have been.
 */
export class WorkerSink implements DocumentSink {
  private readonly pool: WorkerPool<Part[], PartResult[]>;
  private readonly sent: Sent[] = [];
  private batch: Sent = newBatch();
  private batchLength = 0;
  private source: ManifestSource | undefined;
  private index = 0;

  constructor(
    private readonly audit: FileAudit,
    settings: AuditSettings,
    private readonly inputErrors: InputError[],
    private readonly jobs: number,
    url: URL,
    private readonly usage?: { batches: number },
  ) {
    const workerData: WorkerSettings = { context: settings.context, policy: settings.policy, rules: settings.rules.map((rule) => rule.id) };
    this.pool = new WorkerPool(jobs, url, { workerData, ...(url.pathname.endsWith('.ts') && { execArgv: ['--import', tsxLoader()] }) });
  }

  begin(source: ManifestSource, index: number): void {
    this.source = source;
    this.index = index;
  }

  async add(text: ManifestText | InputError): Promise<void> {
    const source = this.source!;
    if (isInputError(text)) this.push({ kind: 'error', error: text }, 0);
    else if (text.format === 'yaml') {
      const last = this.batch.parts.at(-1);
      if (last?.kind === 'yaml' && last.source === source.name && last.index + last.chunks.length === this.index) last.chunks.push(text.chunk);
      else this.push({ kind: 'yaml', source: source.name, index: this.index, chunks: [text.chunk] }, 0);
      this.index++;
      this.batchLength += text.chunk.text.length;
    } else {
      const sliced = text.text.length >= SLICE_LISTS_FROM ? sliceList(text.text, BATCH_LENGTH) : undefined;
      if (!sliced || sliced.count < 2) this.push({ kind: 'json', source: source.name, text: text.text }, text.text.length);
      else {
        const list: SlicedText = { source, text: text.text, slices: sliced.count, results: [] };
        for (const slice of sliced.slices()) {
          this.push({ kind: 'list', source: source.name, slice, listKind: sliced.kind, rootLine: sliced.rootLine, itemsLine: sliced.itemsLine }, slice.text.length, list);
          await this.flush();
        }
      }
    }
    if (this.batchLength >= BATCH_LENGTH) await this.flush();
  }

  async finish(): Promise<void> {
    await this.flush();
    while (this.sent.length > 0) await this.record(this.sent.shift()!);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private push(part: Part, length: number, list?: SlicedText): void {
    this.batch.parts.push(part);
    this.batch.lists.push(list);
    this.batch.paths.push(this.source?.path);
    this.batchLength += length;
  }

  /** Sends the batch being filled, then waits for the oldest results while too many are in flight. */
  private async flush(): Promise<void> {
    if (this.batch.parts.length > 0) {
      const batch = this.batch;
      batch.result = this.pool.run(batch.parts);
      if (this.usage) this.usage.batches++;
      // Recorded in order later; a failure is reported then, not as an unhandled rejection meanwhile.
      batch.result.catch(() => undefined);
      this.sent.push(batch);
      this.batch = newBatch();
      this.batchLength = 0;
    }
    while (this.sent.length > this.jobs * BATCHES_PER_WORKER) await this.record(this.sent.shift()!);
  }

  /** Records the results of a batch, as the main thread would have recorded its documents. */
  private async record(sent: Sent): Promise<void> {
    const results = await sent.result;
    sent.parts.forEach((part, i) => {
      const result = results[i]!;
      const list = sent.lists[i];
      if (list) {
        list.results.push(result);
        if (list.results.length === list.slices) this.recordList(list);
        return;
      }
      if ('unparsed' in result) return;
      for (const item of result) this.recordItem(item, part, sent.paths[i]);
    });
  }

  private recordItem(item: PartItem, part: Part, path: string | undefined): void {
    if (isInputError(item)) {
      this.inputErrors.push(item);
      return;
    }
    const text = part.kind === 'yaml' ? part.chunks[item.index - part.index]!.text : part.kind === 'json' ? withoutByteOrderMark(part.text) : '';
    this.audit.record(item, () => this.audit.keep({ source: item.source, index: item.index, line: item.line, format: item.format, text }, path));
  }

  /**
   * The slices of a List as the one document it is; read whole on this thread when the slices cannot stand for
   * it: one is not valid JSON, it needs related objects (they are found once the input is read), or a rule
   * failed (the line of a failure is that of the first object of the same name in the whole List).
   */
  private recordList(list: SlicedText): void {
    const documents = list.results.flatMap((result) => ('unparsed' in result ? [] : result)).filter((item): item is Exclude<PartItem, InputError> => !isInputError(item));
    const whole = documents.length === list.slices && documents.every((document) => document.wanted.length === 0 && (document.outcome?.errors.length ?? 0) === 0);
    if (!whole) {
      for (const item of jsonTextItems(list.text, list.source.name)) {
        if (isInputError(item)) this.inputErrors.push(item);
        else this.audit.check(item, list.source.path);
      }
      return;
    }
    // Each slice's findings are in line order, and slices follow each other: together they are in line order.
    const merged: CheckedDocument = {
      source: list.source.name,
      resources: documents.reduce((sum, document) => sum + document.resources, 0),
      kept: documents.flatMap((document) => document.kept),
      wanted: [],
    };
    const findings = documents.flatMap((document) => document.outcome?.findings ?? []);
    const exempted = documents.flatMap((document) => document.outcome?.exempted ?? []);
    if (findings.length > 0 || exempted.length > 0) merged.outcome = { findings, errors: [], exempted };
    const text = withoutByteOrderMark(list.text);
    this.audit.record(merged, () => this.audit.keep({ source: list.source.name, index: 0, line: 1, format: 'json', text }, list.source.path));
  }
}

function newBatch(): Sent {
  return { parts: [], lists: [], paths: [], result: Promise.resolve([]) };
}

function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A worker entry point in TypeScript (the project run from its sources: tests, tsx) is loaded through tsx, as the main thread is. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
