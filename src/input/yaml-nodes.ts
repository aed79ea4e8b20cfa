import { EVENT_ID, getScalarValue, parseEvents, type Event, type ScalarEvent } from 'js-yaml';
import type { SourceNode } from './source-node.js';

type Anchors = Map<string, YamlNode>;

/**
 * A YAML document as a tree of offsets, built from js-yaml's event stream: the same parser that produced
 * the values, so positions always agree with them. Built only for documents that have findings.
 */
class YamlNode implements SourceNode {
  readonly keys: string[] = [];
  readonly keyOffsets: number[] = [];
  readonly children: YamlNode[] = [];
  /** Sources of `<<` merge keys, searched after the mapping's own keys. */
  readonly merges: YamlNode[] = [];
  /** While building a mapping: the key whose value comes next. */
  pendingKey: { key: string; offset: number } | undefined;

  constructor(
    readonly offset: number,
    readonly kind: 'map' | 'seq' | 'scalar' | 'alias',
    private readonly anchors: Anchors,
    private readonly alias?: string,
  ) {}

  entry(key: string): { keyOffset: number; value: SourceNode } | undefined {
    const node = this.resolved();
    if (node.kind !== 'map') return undefined;
    // A repeated key keeps its last value, as in kubectl.
    const index = node.keys.lastIndexOf(key);
    if (index >= 0) return { keyOffset: node.keyOffsets[index]!, value: node.children[index]! };
    for (const merged of node.merges) {
      const found = merged.entry(key);
      if (found) return found;
    }
    return undefined;
  }

  item(index: number): SourceNode | undefined {
    const node = this.resolved();
    return node.kind === 'seq' ? node.children[index] : undefined;
  }

  private resolved(): YamlNode {
    return this.kind === 'alias' ? (this.anchors.get(this.alias ?? '') ?? this) : this;
  }
}

/**
 * The root node of a single YAML document, or undefined when it is empty, from the events its value was
 * built from (parsed again when not given). Throws on a syntax error.
 */
export function yamlRoot(text: string, events: readonly Event[] = parseEvents(text, {})): SourceNode | undefined {
  const anchors: Anchors = new Map();
  const open: YamlNode[] = [];
  let root: YamlNode | undefined;

  const attach = (node: YamlNode, anchorStart: number, anchorEnd: number, scalar?: ScalarEvent): void => {
    if (anchorStart >= 0) anchors.set(text.slice(anchorStart, anchorEnd), node);
    const parent = open.at(-1);
    if (!parent) root ??= node;
    else if (parent.kind === 'seq') parent.children.push(node);
    else if (!parent.pendingKey) parent.pendingKey = { key: scalar ? getScalarValue(text, scalar) : '', offset: node.offset };
    else {
      const { key, offset } = parent.pendingKey;
      parent.pendingKey = undefined;
      if (key === '<<') parent.merges.push(...(node.kind === 'seq' ? node.children : [node]));
      else {
        parent.keys.push(key);
        parent.keyOffsets.push(offset);
        parent.children.push(node);
      }
    }
  };

  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const node = new YamlNode(event.start, event.type === EVENT_ID.MAPPING ? 'map' : 'seq', anchors);
        attach(node, event.anchorStart, event.anchorEnd);
        open.push(node);
        break;
      }
      case EVENT_ID.SCALAR:
        attach(new YamlNode(event.valueStart, 'scalar', anchors), event.anchorStart, event.anchorEnd, event);
        break;
      case EVENT_ID.ALIAS:
        attach(new YamlNode(event.anchorStart - 1, 'alias', anchors, text.slice(event.anchorStart, event.anchorEnd)), -1, -1);
        break;
      case EVENT_ID.POP:
        open.pop();
        break;
      default:
        break;
    }
  }
  return root;
}
