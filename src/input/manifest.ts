import { constants as bufferConstants } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import { constructFromEvents, parseEvents, YAMLException, type Event } from 'js-yaml';
import { isObject, type KubeObject } from '../model/kube.js';
import { errorMessage, PodpatternsError, type ErrorCode } from '../errors.js';
import { loadLenientYaml } from './lenient-yaml.js';
import { KUBERNETES_YAML_SCHEMA } from './schema.js';
import { DocumentSplitter, splitDocuments, type DocumentText } from './split.js';

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
  /** The parser events `value` was built from, kept so positions need no second parse. */
  events?: readonly Event[];
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

/** What a manifest stream yields, document by document. */
export type ManifestItem = ManifestDocument | InputError;

export function isInputError<T extends object>(item: T | InputError): item is InputError {
  return 'code' in item;
}

const CONSTRUCT_OPTIONS = {
  schema: KUBERNETES_YAML_SCHEMA,
  // kubectl keeps the last of repeated keys (kubernetes/kubernetes#99286); so do we, rather than reject the document.
  json: true,
};

/**
 * The longest string V8 can make (about 512 MiB): a JSON text, or a single YAML document, longer than this
 * cannot be read at all.
 */
export const MAX_TEXT_LENGTH = bufferConstants.MAX_STRING_LENGTH;

/** One document of a whole stream, with its exact text: pieces put end to end give the stream back. */
export interface SourceDocument {
  text: string;
  /** 1-based line of the stream on which `text` starts. */
  line: number;
  /** The objects read from it: none for an empty or broken document. */
  documents: ManifestDocument[];
  errors: InputError[];
}

/**
 * Reads a whole manifest stream: one JSON object (`kubectl get -o json`), or YAML documents separated by
 * `---`, each parsed on its own: a broken one is reported with its line and the others are kept. Every piece
 * of the text comes back, empty and comment-only documents too, so a command can write the stream again.
 */
export function sourceDocuments(stream: string, source: string): SourceDocument[] {
  const text = stream.charCodeAt(0) === 0xfeff ? stream.slice(1) : stream;
  const json = /^\s*\{/.test(text) ? parseJson(text) : undefined;
  if (json !== undefined) return [{ text, line: 1, documents: [{ source, index: 0, line: 1, format: 'json', text, value: json }], errors: [] }];
  const yaml = new YamlReader(source);
  return splitDocuments(text).map((chunk) => {
    const piece: SourceDocument = { text: chunk.text, line: chunk.line, documents: [], errors: [] };
    for (const item of yaml.read(chunk)) {
      if (isInputError(item)) piece.errors.push(item);
      else piece.documents.push(item);
    }
    return piece;
  });
}

/** The documents and errors of a whole manifest stream (see sourceDocuments). */
export function parseManifests(stream: string, source: string): ParsedManifests {
  const pieces = sourceDocuments(stream, source);
  return { documents: pieces.flatMap((piece) => piece.documents), errors: pieces.flatMap((piece) => piece.errors) };
}

/** All of a stream as one text, for commands that write it back; longer than a string can be is an error. */
export async function readWholeText(pieces: AsyncIterable<Uint8Array>, source: string, options: ReadOptions = {}): Promise<string> {
  const limit = options.maxTextLength ?? MAX_TEXT_LENGTH;
  if (options.size !== undefined && options.size > limit) throw new PodpatternsError('PODPATTERNS_ERR_INPUT_READ', tooLarge(source, `is ${mebibytes(options.size)}`, limit).message);
  const buffers: Buffer[] = [];
  let bytes = 0;
  for await (const piece of pieces) {
    buffers.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece));
    bytes += piece.length;
    if (bytes > limit) throw new PodpatternsError('PODPATTERNS_ERR_INPUT_READ', tooLarge(source, `is more than ${mebibytes(limit)}`, limit).message);
  }
  return Buffer.concat(buffers).toString('utf8');
}

export interface ReadOptions {
  /** Longest text held at once; V8's string limit unless a test makes it smaller. */
  maxTextLength?: number;
  /** Bytes, when known before reading: a JSON text over the limit is refused without reading it. */
  size?: number;
}

/**
 * Reads a manifest stream piece by piece and yields its documents one at a time as soon as each is complete,
 * so a YAML stream of any length is read holding one document. A JSON text is parsed whole (`JSON.parse` is
 * the fastest reader there is); a text or document beyond the string limit is reported, not thrown.
 */
export async function* readManifests(pieces: AsyncIterable<Uint8Array>, source: string, options: ReadOptions = {}): AsyncGenerator<ManifestItem> {
  const yaml = new YamlReader(source);
  for await (const text of readManifestTexts(pieces, source, options)) {
    if ('code' in text) yield text;
    else if (text.format === 'yaml') yield* yaml.read(text.chunk);
    else yield* jsonTextItems(text.text, source);
  }
}

/** What a manifest stream is cut into before parsing: each YAML document alone, or the whole of a JSON text. */
export type ManifestText = { format: 'yaml'; chunk: DocumentText } | { format: 'json'; text: string };

/**
 * The reading half of readManifests: the texts to parse, in order, with the errors of reading. Parsing them
 * (readManifests, or YamlReader and jsonTextItems elsewhere) gives the same items wherever it is done.
 */
export async function* readManifestTexts(pieces: AsyncIterable<Uint8Array>, source: string, options: ReadOptions = {}): AsyncGenerator<ManifestText | InputError> {
  const limit = options.maxTextLength ?? MAX_TEXT_LENGTH;
  /** Bytes held until the format is known, and all of a JSON text. */
  const held: Buffer[] = [];
  let heldBytes = 0;
  let format: 'json' | 'yaml' | undefined;
  const decoder = new StringDecoder('utf8');
  const splitter = new DocumentSplitter();
  let first = true;
  const yamlTexts = (chunks: DocumentText[]): ManifestText[] => chunks.map((chunk) => ({ format: 'yaml', chunk }));

  for await (const piece of pieces) {
    const buffer = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    if (format !== 'yaml') {
      held.push(buffer);
      heldBytes += buffer.length;
      if (format === undefined) {
        format = formatOf(held.length === 1 ? buffer : Buffer.concat(held));
        if (format === undefined) continue;
        if (format === 'json' && options.size !== undefined && options.size > limit) {
          yield tooLarge(source, `is ${mebibytes(options.size)} of JSON`, limit);
          return;
        }
      }
      if (format === 'json') {
        if (heldBytes > limit) {
          yield tooLarge(source, `is more than ${mebibytes(limit)} of JSON`, limit);
          return;
        }
        continue;
      }
    }
    let text = decoder.write(held.length === 0 ? buffer : held.length === 1 ? held.splice(0)[0]! : Buffer.concat(held.splice(0)));
    if (first && text !== '') {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    if (splitter.held + text.length > limit) {
      yield tooLarge(source, `has a YAML document${options.size !== undefined ? ` (in ${mebibytes(options.size)})` : ''} longer than ${mebibytes(limit)}`, limit);
      return;
    }
    yield* yamlTexts(splitter.push(text));
  }

  if (format !== 'yaml') {
    yield { format: 'json', text: (held.length === 1 ? held[0]! : Buffer.concat(held)).toString('utf8') };
    return;
  }
  const rest = decoder.end();
  yield* yamlTexts([...splitter.push(rest), ...splitter.end()]);
}

/**
 * The items of a whole text that starts like JSON: one JSON object, or, when it is not valid JSON, its YAML
 * documents (YAML reports where it breaks), the errors first.
 */
export function jsonTextItems(text: string, source: string): ManifestItem[] {
  return sourceDocuments(text, source).flatMap((piece) => [...piece.errors, ...piece.documents]);
}

/** `json` when the first character after a byte order mark and blanks is `{`, undefined while only blanks came. */
function formatOf(start: Buffer): 'json' | 'yaml' | undefined {
  let at = start[0] === 0xef && start[1] === 0xbb && start[2] === 0xbf ? 3 : 0;
  while (at < start.length && (start[at] === 0x20 || start[at] === 0x09 || start[at] === 0x0a || start[at] === 0x0d)) at++;
  if (at === start.length) return undefined;
  return start[at] === 0x7b ? 'json' : 'yaml';
}

function tooLarge(source: string, what: string, limit: number): InputError {
  return {
    source,
    code: 'PODPATTERNS_ERR_INPUT_READ',
    message:
      `cannot be read: it ${what}, and a JavaScript string holds at most ${mebibytes(limit)} (V8's limit): ` +
      'split it into smaller files (a List into several Lists, a YAML stream at its --- markers)',
  };
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Parses the documents of one YAML stream, numbering them as it goes (from `index`, for a stream read in parts). */
export class YamlReader {
  constructor(
    readonly source: string,
    private index = 0,
  ) {}

  *read(chunk: DocumentText): Generator<ManifestItem> {
    const { source } = this;
    const index = this.index++;
    const parsed = parseYamlDocument(chunk.text);
    if ('error' in parsed) {
      // Broken for both readers: js-yaml's message points at the offending line more often.
      yield syntaxError(parsed.error, chunk, index, source);
      return;
    }
    for (const value of parsed.values) {
      if (value === null || value === undefined) continue;
      if (isObject(value)) {
        yield { source, index, line: chunk.line, format: 'yaml', text: chunk.text, value: value as KubeObject, ...(parsed.events && { events: parsed.events }) };
      } else {
        yield { source, line: firstContentLine(chunk), code: 'PODPATTERNS_ERR_INPUT_SYNTAX', message: `document ${index + 1} is ${describe(value)}, not a Kubernetes object (a mapping with apiVersion and kind)` };
      }
    }
  }
}

/**
 * The values of one YAML document as kubectl reads them, with js-yaml's events; documents js-yaml rejects
 * are read again by the lenient reader (see lenient-yaml.ts), without events.
 */
export function parseYamlDocument(text: string): { values: unknown[]; events?: Event[] } | { error: unknown } {
  try {
    const events = parseEvents(text, {});
    return { values: constructFromEvents(events, { source: text, ...CONSTRUCT_OPTIONS }), events };
  } catch (error) {
    try {
      return { values: [loadLenientYaml(text)] };
    } catch {
      return { error };
    }
  }
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
