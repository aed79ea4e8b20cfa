import { EVENT_ID, getScalarValue, parseEvents, type Event } from 'js-yaml';
import { MAX_MERGE_DEPTH, type SourceNode } from './source-node.js';

/**
 * Positions in a YAML document, read from js-yaml's event stream: the same parser that produced the values,
 * so positions always agree with them. Nothing is built per node: one pass finds where each collection's
 * events end, and a path then goes from event to event, jumping over the values it does not enter and
 * comparing only the keys of the mappings it goes through. Built only for documents that have findings.
 */
class YamlEvents {
  /** For each event, the index just past it and everything it holds. */
  readonly ends: Int32Array;
  /** The events of each sequence's items, listed the first time a path goes through it. */
  private readonly items = new Map<number, number[]>();
  /** The events that define each anchor, in order; found on the first alias followed. */
  private anchors: Map<string, number[]> | undefined;

  constructor(
    readonly text: string,
    readonly events: readonly Event[],
  ) {
    this.ends = new Int32Array(events.length).fill(events.length);
    const open: number[] = [];
    for (let i = 0; i < events.length; i++) {
      const { type } = events[i]!;
      if (type === EVENT_ID.MAPPING || type === EVENT_ID.SEQUENCE || type === EVENT_ID.DOCUMENT) open.push(i);
      else {
        this.ends[i] = i + 1;
        if (type === EVENT_ID.POP && open.length > 0) this.ends[open.pop()!] = i + 1;
      }
    }
  }

  /** Where the node of event `index` is written: a collection's first character, a scalar's value, an alias's `*`. */
  offset(index: number): number {
    const event = this.events[index]!;
    switch (event.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE:
        return event.start;
      case EVENT_ID.SCALAR:
        return event.valueStart;
      case EVENT_ID.ALIAS:
        return event.anchorStart - 1;
      default:
        return -1;
    }
  }

  /** The node an alias stands for (the last definition of its anchor before it); any other node itself. */
  resolved(index: number): number {
    const event = this.events[index]!;
    if (event.type !== EVENT_ID.ALIAS) return index;
    const definitions = this.anchorsByName().get(this.text.slice(event.anchorStart, event.anchorEnd)) ?? [];
    let found = index;
    for (const definition of definitions) if (definition < index) found = definition;
    return found;
  }

  /** The mapping's pairs, as the events of each key and its value. */
  *pairs(mapping: number): Generator<{ key: number; value: number }> {
    const end = this.ends[mapping]! - 1;
    for (let key = mapping + 1; key < end; ) {
      const value = this.ends[key]!;
      if (value >= end) return;
      yield { key, value };
      key = this.ends[value]!;
    }
  }

  /** The events of the sequence's items. */
  itemsOf(sequence: number): number[] {
    let items = this.items.get(sequence);
    if (!items) {
      items = [];
      const end = this.ends[sequence]! - 1;
      for (let item = sequence + 1; item < end; item = this.ends[item]!) items.push(item);
      this.items.set(sequence, items);
    }
    return items;
  }

  /** A key's text; a key that is not a scalar (a mapping or sequence as a key) reads as ''. */
  keyIs(index: number, key: string): boolean {
    const event = this.events[index]!;
    if (event.type !== EVENT_ID.SCALAR) return key === '';
    // Most keys are plain and are their own text: compared where they are written, no string made.
    if (event.fast && event.valueStart >= 0) return event.valueEnd - event.valueStart === key.length && this.text.startsWith(key, event.valueStart);
    return getScalarValue(this.text, event) === key;
  }

  private anchorsByName(): Map<string, number[]> {
    if (!this.anchors) {
      this.anchors = new Map();
      this.events.forEach((event, index) => {
        if (!('anchorStart' in event) || event.type === EVENT_ID.ALIAS || event.anchorStart < 0) return;
        const name = this.text.slice(event.anchorStart, event.anchorEnd);
        const definitions = this.anchors!.get(name);
        if (definitions) definitions.push(index);
        else this.anchors!.set(name, [index]);
      });
    }
    return this.anchors;
  }
}

class YamlNode implements SourceNode {
  constructor(
    private readonly document: YamlEvents,
    private readonly index: number,
    /** Merge keys followed to reach it. */
    private readonly depth = 0,
  ) {}

  get offset(): number {
    return this.document.offset(this.index);
  }

  entry(key: string): { keyOffset: number; value: SourceNode } | undefined {
    const { document } = this;
    const mapping = document.resolved(this.index);
    if (document.events[mapping]!.type !== EVENT_ID.MAPPING || this.depth > MAX_MERGE_DEPTH) return undefined;
    // A repeated key keeps its last value, as in kubectl; `<<` merges other mappings, searched after its own keys.
    let found: { key: number; value: number } | undefined;
    const merges: number[] = [];
    for (const pair of document.pairs(mapping)) {
      if (document.keyIs(pair.key, '<<')) merges.push(pair.value);
      else if (document.keyIs(pair.key, key)) found = pair;
    }
    if (found) return { keyOffset: document.offset(found.key), value: new YamlNode(document, found.value) };
    for (const merge of merges) {
      const sources = document.events[merge]!.type === EVENT_ID.SEQUENCE ? document.itemsOf(merge) : [merge];
      for (const source of sources) {
        const entry = new YamlNode(document, source, this.depth + 1).entry(key);
        if (entry) return entry;
      }
    }
    return undefined;
  }

  item(index: number): SourceNode | undefined {
    const { document } = this;
    const sequence = document.resolved(this.index);
    if (document.events[sequence]!.type !== EVENT_ID.SEQUENCE) return undefined;
    const item = document.itemsOf(sequence)[index];
    return item === undefined ? undefined : new YamlNode(document, item);
  }
}

/**
 * The root node of a single YAML document, or undefined when it is empty, from the events its value was
 * built from (parsed again when not given). Throws on a syntax error.
 */
export function yamlRoot(text: string, events: readonly Event[] = parseEvents(text, {})): SourceNode | undefined {
  const root = events.findIndex((event) => event.type !== EVENT_ID.DOCUMENT && event.type !== EVENT_ID.POP);
  return root === -1 ? undefined : new YamlNode(new YamlEvents(text, events), root);
}
