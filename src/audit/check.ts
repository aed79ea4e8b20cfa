import { evaluate } from '../engine/engine.js';
import type { EvaluationContext, RelatedObjects, RelatedRef, Rule } from '../engine/types.js';
import { lineLocator, type LineLocator } from '../input/locate.js';
import { readFile } from 'node:fs/promises';
import { parseYamlDocument, sourceDocuments, type ManifestDocument } from '../input/manifest.js';
import { splitDocuments, type DocumentText } from '../input/split.js';
import { asString, isObject, type KubeObject } from '../model/kube.js';
import { resourceRef, type ResourceRef } from '../model/pod.js';
import { objectsIn, type ObjectAt } from '../model/workload.js';
import { expiredExemptions } from '../engine/exemptions.js';
import type { Policy } from '../policy/policy.js';
import type { AuditError, AuditReport, LocatedExemptedFinding, LocatedFinding } from '../report/types.js';

export interface AuditSettings {
  /** The cluster checked against; `related` is filled in from the input. */
  context: Omit<EvaluationContext, 'related'>;
  policy: Policy;
  rules: readonly Rule[];
}

/** What one document yields, in the order of the input. */
interface DocumentOutcome {
  sequence: number;
  findings: LocatedFinding[];
  errors: AuditError[];
  exempted: LocatedExemptedFinding[];
}

/**
 * What checking one document gives the audit: everything the report needs and nothing of the document, so a
 * worker thread can check it and send this back (see parallel.ts).
 */
export interface CheckedDocument {
  source: string;
  /** Objects in it, the items of Lists counted one by one. */
  resources: number;
  /** Its objects of the kinds rules read as related objects. */
  kept: KeptRef[];
  /** The related objects it needs: when there are some, it is checked once the whole input is read. */
  wanted: RelatedRef[];
  /** What it yields, when it has something to report and needs no related objects. */
  outcome?: Omit<DocumentOutcome, 'sequence'>;
}

/** An object a rule may read as a related object: found again by its path in its document. */
export interface KeptRef {
  kind: string;
  name?: string;
  path: string;
}

/** The rules that read related objects and the kinds they read, under a policy. */
export interface RelatedReaders {
  readers: RelatedObjects[];
  kinds: ReadonlySet<string>;
}

export function relatedReaders(settings: AuditSettings): RelatedReaders {
  const readers = settings.rules.filter((rule) => rule.related && settings.policy.rules[rule.id]?.enabled).map((rule) => rule.related!);
  return { readers, kinds: new Set(readers.flatMap((reader) => reader.kinds)) };
}

/**
 * Checks one document (unless it needs related objects), locating what it reports. `lineOf` maps paths of the
 * document to lines (the document's own locator unless given).
 */
export function checkDocument(document: ManifestDocument, settings: AuditSettings, related: RelatedReaders, lineOf?: LineLocator): CheckedDocument {
  const objects = objectsIn(document.value);
  const kept: KeptRef[] = [];
  const wanted: RelatedRef[] = [];
  for (const { object, path } of objects) {
    if (typeof object.kind === 'string' && related.kinds.has(object.kind)) {
      const name = isObject(object.metadata) ? asString(object.metadata.name) : undefined;
      kept.push({ kind: object.kind, ...(name !== undefined && { name }), path });
    }
    for (const reader of related.readers) for (const ref of reader.of(object)) wanted.push(ref);
  }
  const checked: CheckedDocument = { source: document.source, resources: objects.length, kept, wanted };
  if (wanted.length > 0) return checked;
  const outcome = outcomeOf(document, objects, settings.context, settings, lineOf);
  return outcome ? { ...checked, outcome } : checked;
}

/** What a document yields under `context`, located; undefined when it has nothing to report. */
function outcomeOf(
  document: ManifestDocument,
  objects: readonly ObjectAt[],
  context: EvaluationContext,
  settings: AuditSettings,
  lineOf: LineLocator = lineLocator(document),
): Omit<DocumentOutcome, 'sequence'> | undefined {
  const result = evaluate(document.value, context, settings.policy, settings.rules);
  if (result.findings.length === 0 && result.errors.length === 0 && result.exempted.length === 0) return undefined;
  const file = document.source;
  const resourceLine = resourceLines(objects, lineOf);
  const findings = result.findings.map((finding) => ({ ...finding, file, line: lineOf(finding.path) })).sort((a, b) => a.line - b.line);
  const errors = result.errors.map((error) => ({
    file,
    line: resourceLine(error.resource),
    rule: error.rule,
    resource: error.resource,
    message: `rule ${error.rule} failed: ${error.message}`,
  }));
  const exempted = result.exempted.map((finding) => ({ ...finding, file, line: lineOf(finding.path) }));
  return { findings, errors, exempted };
}

/**
 * Checks documents as they are read, holding one at a time: an audit's memory does not grow with its input.
 * Lines are only worked out for documents with something to report. A rule that reads other objects of the
 * input (its `related` declaration) gets them once the whole input is read: the objects of the kinds it
 * reads are kept aside as text meanwhile, and the documents that need them are checked last, their results
 * put back in input order. Documents are checked here (`check`) or elsewhere (`record`, with what
 * `checkDocument` gave).
 */
export class FileAudit {
  private readonly outcomes: DocumentOutcome[] = [];
  private readonly deferred: Array<{ sequence: number; document: KeptDocument; wanted: RelatedRef[] }> = [];
  private readonly files = new RereadFiles();
  private readonly kept = new KeptObjects();
  readonly related: RelatedReaders;
  private documents = 0;
  private resources = 0;
  private sources = new Set<string>();

  constructor(private readonly settings: AuditSettings) {
    this.related = relatedReaders(settings);
  }

  /** `path`: the file it was read from, read again if the document is needed once more. */
  check(document: ManifestDocument, path?: string): void {
    const checked = checkDocument(document, this.settings, this.related);
    // Results and kept names outlive their document: their strings must not keep its text alive (see
    // detached). JSON.parse makes strings of their own.
    const own = document.format === 'json' ? checked : { ...checked, kept: detached(checked.kept), wanted: detached(checked.wanted), ...(checked.outcome && { outcome: detached(checked.outcome) }) };
    this.record(own, () => keepDocument(document, path, this.files));
  }

  /** A document checked elsewhere; `keep` sets it aside, called only when it may be needed again. */
  record(checked: CheckedDocument, keep: () => KeptDocument): void {
    const sequence = this.documents++;
    this.sources.add(checked.source);
    this.resources += checked.resources;
    let kept: KeptDocument | undefined;
    for (const ref of checked.kept) this.kept.add(ref, (kept ??= keep()));
    if (checked.wanted.length > 0) this.deferred.push({ sequence, document: kept ?? keep(), wanted: checked.wanted });
    else if (checked.outcome) this.outcomes.push({ sequence, ...checked.outcome });
  }

  /** Sets a document aside as `check` would (see keepDocument). */
  keep(document: KeptSource, path: string | undefined): KeptDocument {
    return keepDocument(document, path, this.files);
  }

  async finish(): Promise<AuditReport> {
    for (const { sequence, document, wanted } of this.deferred) {
      const restored = await document.restore();
      const related = await this.kept.find(wanted);
      if (!restored) continue;
      const outcome = outcomeOf(restored, objectsIn(restored.value), { ...this.settings.context, related }, this.settings);
      if (outcome) this.outcomes.push({ sequence, ...(restored.format === 'json' ? outcome : detached(outcome)) });
    }
    const outcomes = this.deferred.length > 0 ? this.outcomes.sort((a, b) => a.sequence - b.sequence) : this.outcomes;
    return {
      findings: outcomes.flatMap((outcome) => outcome.findings),
      errors: outcomes.flatMap((outcome) => outcome.errors),
      exempted: outcomes.flatMap((outcome) => outcome.exempted),
      expiredExemptions: expiredExemptions(this.settings.policy.exemptions, this.settings.context.now ?? Date.now()),
      files: this.sources.size,
      documents: this.documents,
      resources: this.resources,
    };
  }
}

/**
 * A deep copy of the strings in `value`. V8 cuts strings out of a larger one without copying (sliced
 * strings): a container name that js-yaml read keeps the whole text of its document alive, and through
 * it the piece of the file that was read. Findings and kept names live until the end of the audit, so
 * theirs are copied, or an audit would hold its whole input.
 */
function detached<T>(value: T): T {
  // V8 copies strings shorter than 13 characters when it cuts them; a longer one is flattened into a
  // fresh string by cutting it out of itself prefixed by a blank.
  if (typeof value === 'string') return (value.length < 13 ? value : ` ${value}`.slice(1)) as T;
  if (Array.isArray(value)) return value.map(detached) as T;
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = detached((value as Record<string, unknown>)[key]);
  return copy as T;
}

/** A document set aside, to be read again when it is needed. */
export interface KeptDocument {
  restore(): Promise<ManifestDocument | undefined>;
}

/**
 * A document from a file is read again from the file (its index among the file's documents finds it), so an
 * audit holds nothing of it meanwhile; one from standard input is kept as UTF-8 bytes of its own (a string
 * cut from the stream would keep the whole piece it was cut from alive).
 */
function keepDocument(document: KeptSource, path: string | undefined, files: RereadFiles): KeptDocument {
  const { source, index, line, format } = document;
  if (path !== undefined) {
    return {
      async restore() {
        const file = await files.read(path);
        if (format === 'json') return sourceDocuments(file.text, source)[0]?.documents.find((candidate) => candidate.format === 'json');
        // Only this document is parsed again: the others are only cut apart.
        const chunk = file.chunks()[index];
        return chunk && yamlDocument(chunk.text, source, index, chunk.line);
      },
    };
  }
  const bytes = Buffer.from(document.text, 'utf8');
  return {
    restore() {
      const text = bytes.toString('utf8');
      if (format === 'json') return Promise.resolve({ source, index, line, format, text, value: JSON.parse(text) as KubeObject });
      return Promise.resolve(yamlDocument(text, source, index, line));
    },
  };
}

/** What a document is set aside from: where it is, and its text (only read when it is not in a file). */
export type KeptSource = Pick<ManifestDocument, 'source' | 'index' | 'line' | 'format' | 'text'>;

/** Files read again, the last few of them kept cut into documents: wanted documents often share a file. */
class RereadFiles {
  private readonly recent = new Map<string, { text: string; chunks(): DocumentText[] }>();

  async read(path: string): Promise<{ text: string; chunks(): DocumentText[] }> {
    const known = this.recent.get(path);
    if (known) return known;
    const text = await readFile(path, 'utf8');
    let chunks: DocumentText[] | undefined;
    const file = { text, chunks: () => (chunks ??= splitDocuments(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)) };
    remember(this.recent, path, file, REREAD_FILES_KEPT);
    return file;
  }
}

/** Files kept cut into documents while documents are read again (see RereadFiles). */
const REREAD_FILES_KEPT = 4;
/** Related objects kept while they are looked up (see KeptObjects.find). */
const RELATED_OBJECTS_KEPT = 1024;

/** Sets `key` in a map that keeps at most `limit` entries, forgetting the oldest. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  if (map.size >= limit) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

function yamlDocument(text: string, source: string, index: number, line: number): ManifestDocument | undefined {
  const parsed = parseYamlDocument(text);
  const value = 'values' in parsed ? parsed.values.find((candidate) => isObject(candidate)) : undefined;
  if (!value || !('values' in parsed)) return undefined;
  return { source, index, line, format: 'yaml', text, value: value as KubeObject, ...(parsed.events && { events: parsed.events }) };
}

/** The objects of the kinds rules read as related objects, by kind and name, in input order. */
class KeptObjects {
  private readonly byKind = new Map<string, KeptObject[]>();
  private readonly byName = new Map<string, KeptObject[]>();
  /**
   * Objects found again, by their order, the last few, detached from the text of their file: many objects may
   * want the same one (each copy of an HPA its Deployment).
   */
  private readonly found = new Map<number, KubeObject | undefined>();
  private count = 0;

  add({ kind, name, path }: KeptRef, document: KeptDocument): void {
    const kept = { path, document, order: this.count++ };
    append(this.byKind, kind, kept);
    if (name !== undefined) append(this.byName, `${kind}/${name}`, kept);
  }

  /** The objects `wanted` names, each once, in input order; a kept object is read again only if it was forgotten. */
  async find(wanted: readonly RelatedRef[]): Promise<KubeObject[]> {
    const matches = new Map<number, KeptObject>();
    for (const ref of wanted) {
      const candidates = ref.name === undefined ? this.byKind.get(ref.kind) : this.byName.get(`${ref.kind}/${ref.name}`);
      for (const kept of candidates ?? []) matches.set(kept.order, kept);
    }
    const parsed = new Map<KeptDocument, ObjectAt[]>();
    const related: KubeObject[] = [];
    for (const [order, { path, document }] of [...matches].sort(([a], [b]) => a - b)) {
      if (!this.found.has(order)) {
        let objects = parsed.get(document);
        if (!objects) {
          const restored = await document.restore();
          objects = restored ? objectsIn(restored.value) : [];
          parsed.set(document, objects);
        }
        const object = objects.find((candidate) => candidate.path === path)?.object;
        remember(this.found, order, object && detached(object), RELATED_OBJECTS_KEPT);
      }
      const object = this.found.get(order);
      if (object) related.push(object);
    }
    return related;
  }
}

interface KeptObject {
  path: string;
  document: KeptDocument;
  order: number;
}

function append<V>(map: Map<string, V[]>, key: string, value: V): void {
  const values = map.get(key);
  if (values) values.push(value);
  else map.set(key, [value]);
}

/** The line of a resource inside its document: the document itself, or the List item that names it. */
function resourceLines(objects: readonly ObjectAt[], lineOf: LineLocator): (resource: ResourceRef) => number {
  let paths: Map<string, string> | undefined;
  return (resource) => {
    if (!paths) {
      paths = new Map();
      for (const { object, path } of objects) {
        const key = resourceKey(resourceRef(object));
        if (!paths.has(key)) paths.set(key, path);
      }
    }
    return lineOf(paths.get(resourceKey(resource)) ?? '');
  };
}

function resourceKey(resource: ResourceRef): string {
  return [resource.apiVersion, resource.kind, resource.namespace ?? '', resource.name].join('\0');
}
