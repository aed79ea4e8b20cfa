import type { EvaluationContext } from '../engine/types.js';
import { listSliceLocator, type ListSlice } from '../input/json-list.js';
import { isInputError, jsonTextItems, YamlReader, type InputError, type ManifestDocument, type ManifestItem } from '../input/manifest.js';
import type { DocumentText } from '../input/split.js';
import type { KubeObject } from '../model/kube.js';
import type { Policy } from '../policy/policy.js';
import { checkDocument, type AuditSettings, type CheckedDocument, type RelatedReaders } from './check.js';

/**
 * A piece of the input checked in a worker thread: YAML documents of a stream (numbered from `index`), a whole
 * JSON text, a slice of the items of a JSON List, or an error of reading, which only keeps its place in order.
 */
export type Part =
  | { kind: 'yaml'; source: string; index: number; chunks: DocumentText[] }
  | { kind: 'json'; source: string; text: string }
  | { kind: 'list'; source: string; slice: ListSlice; listKind: string; rootLine: number; itemsLine: number }
  | { kind: 'error'; error: InputError };

/** A document checked, with where it is in its source; or an error of its source. */
export type PartItem = InputError | (CheckedDocument & Pick<ManifestDocument, 'index' | 'line' | 'format'>);

/** What a part yields, in order; a List slice that is not valid JSON yields `unparsed` (the List is read whole). */
export type PartResult = PartItem[] | { unparsed: true };

/** What a worker is started with: the settings of `AuditSettings`, the rules by id. */
export interface WorkerSettings {
  context: Omit<EvaluationContext, 'related'>;
  policy: Policy;
  rules: string[];
}

/** Checks the parts of a batch, in order: what a worker thread does with each batch it gets. */
export function checkParts(parts: readonly Part[], settings: AuditSettings, related: RelatedReaders): PartResult[] {
  return parts.map((part) => checkPart(part, settings, related));
}

function checkPart(part: Part, settings: AuditSettings, related: RelatedReaders): PartResult {
  const checked = (item: ManifestItem): PartItem =>
    isInputError(item) ? item : { ...checkDocument(item, settings, related), index: item.index, line: item.line, format: item.format };
  switch (part.kind) {
    case 'error':
      return [part.error];
    case 'json':
      return jsonTextItems(part.text, part.source).map(checked);
    case 'yaml': {
      const reader = new YamlReader(part.source, part.index);
      return part.chunks.flatMap((chunk) => [...reader.read(chunk)].map(checked));
    }
    case 'list':
      return checkListSlice(part, settings, related);
  }
}

/**
 * The items of a slice are checked as a List whose other items are missing (a sparse array): paths, and so
 * findings and lines, are those of the whole List.
 */
function checkListSlice(part: Extract<Part, { kind: 'list' }>, settings: AuditSettings, related: RelatedReaders): PartResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(part.slice.text);
  } catch {
    return { unparsed: true };
  }
  const values = parsed as unknown[];
  const items: unknown[] = [];
  for (let i = 0; i < values.length; i++) items[part.slice.first + i] = values[i];
  const value = { kind: part.listKind, items } as KubeObject;
  const document: ManifestDocument = { source: part.source, index: 0, line: 1, format: 'json', text: part.slice.text, value };
  return [{ ...checkDocument(document, settings, related, listSliceLocator(part.slice, part, values)), index: 0, line: 1, format: 'json' }];
}
