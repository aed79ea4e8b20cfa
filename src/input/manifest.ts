import { loadAll, YAMLException } from 'js-yaml';
import { isObject, type KubeObject } from '../model/kube.js';
import { errorMessage, type ErrorCode } from '../policy/errors.js';
import { loadLenientYaml } from './lenient-yaml.js';
import { KUBERNETES_YAML_SCHEMA } from './schema.js';
import { splitDocuments, type DocumentText } from './split.js';

/** One Kubernetes object (or List) read from a manifest stream. */
export interface ManifestDocument {
  /** Where it came from, as the user named it (`stdin` for `-`). */
  source: string;
  /** 0-based position among the documents of its source. */
  index: number;
  /** 1-based line of the source on which `text` starts. */
  line: number;
  format: 'yaml' | 'json';
  /** The document's own text: positions are worked out from it when a finding needs a line. */
  text: string;
  value: KubeObject;
}

/** A file, directory or document that could not be checked. */
export interface InputError {
  source: string;
  /** 1-based line, when the problem has one. */
  line?: number;
  code: ErrorCode;
  message: string;
}

export interface ParsedManifests {
  documents: ManifestDocument[];
  errors: InputError[];
}

const LOAD_OPTIONS = {
  schema: KUBERNETES_YAML_SCHEMA,
  // kubectl keeps the last of repeated keys (kubernetes/kubernetes#99286); so do we, rather than reject the document.
  json: true,
};

/**
 * Parses a manifest stream: one JSON object (`kubectl get -o json`), or YAML documents separated by `---`.
 * Each YAML document is parsed on its own: a broken one is reported with its line and the others are kept.
 * Empty and comment-only documents are skipped.
 */
export function parseManifests(stream: string, source: string): ParsedManifests {
  const text = stream.charCodeAt(0) === 0xfeff ? stream.slice(1) : stream;
  const json = /^\s*\{/.test(text) ? parseJson(text) : undefined;
  if (json !== undefined) return { documents: [{ source, index: 0, line: 1, format: 'json', text, value: json }], errors: [] };

  const parsed: ParsedManifests = { documents: [], errors: [] };
  splitDocuments(text).forEach((chunk, index) => {
    let values: unknown[];
    try {
      values = loadAll(chunk.text, LOAD_OPTIONS);
    } catch (error) {
      try {
        values = [loadLenientYaml(chunk.text)];
      } catch {
        // Broken for both readers: js-yaml's message points at the offending line more often.
        parsed.errors.push(syntaxError(error, chunk, index, source));
        return;
      }
    }
    for (const value of values) {
      if (value === null || value === undefined) continue;
      if (isObject(value)) parsed.documents.push({ source, index, line: chunk.line, format: 'yaml', text: chunk.text, value: value as KubeObject });
      else parsed.errors.push({ source, line: firstContentLine(chunk), code: 'PODPATTERNS_ERR_INPUT_SYNTAX', message: `document ${index + 1} is ${describe(value)}, not a Kubernetes object (a mapping with apiVersion and kind)` });
    }
  });
  return parsed;
}

/** A single JSON object; anything else (a syntax error, several objects) goes the YAML way, which reports lines. */
function parseJson(text: string): KubeObject | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? (value as KubeObject) : undefined;
  } catch {
    return undefined;
  }
}

function syntaxError(error: unknown, chunk: DocumentText, index: number, source: string): InputError {
  const mark = error instanceof YAMLException ? error.mark : undefined;
  const reason = error instanceof YAMLException ? error.reason : errorMessage(error);
  return {
    source,
    line: mark ? chunk.line + mark.line : firstContentLine(chunk),
    code: 'PODPATTERNS_ERR_INPUT_SYNTAX',
    message: `document ${index + 1} is not valid YAML: ${reason}${mark ? ` (column ${mark.column + 1})` : ''}`,
  };
}

/** The line where a document's content starts, past its `---` marker and any comments. */
function firstContentLine(chunk: DocumentText): number {
  const lines = chunk.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const content = lines[i]!.replace(/^---(?=\s|$)/, '').trim();
    if (content !== '' && !content.startsWith('#') && !lines[i]!.startsWith('%')) return chunk.line + i;
  }
  return chunk.line;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `the ${typeof value} ${String(value)}`;
}
