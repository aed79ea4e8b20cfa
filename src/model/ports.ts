import { asNumber, asString, isObject, type Container, type JsonObject } from './kube.js';

/** An entry of a container's `ports`, read once with the API's defaults. */
export interface PortEntry {
  /** Its position in `ports`. */
  index: number;
  name?: string;
  containerPort?: number;
  hostPort?: number;
  /** Upper-cased; `TCP` when unset, as the API defaults it. */
  protocol: string;
  /** '' when unset. */
  hostIP: string;
}

/** The entries of `ports` that are mappings, in order; finite numbers only. */
export function portEntries(container: Container): PortEntry[] {
  const ports: unknown = container.ports;
  if (!Array.isArray(ports)) return [];
  // Built by map when every entry is a mapping, as written: an array of the right size, not one grown by push.
  if (ports.every((port) => isObject(port))) return (ports as JsonObject[]).map(entryOf);
  const entries: PortEntry[] = [];
  ports.forEach((port: unknown, index) => {
    if (isObject(port)) entries.push(entryOf(port, index));
  });
  return entries;
}

/** Every entry has the same fields, unset ones undefined: the rules that read them see one shape. */
function entryOf(port: JsonObject, index: number): PortEntry {
  return {
    index,
    name: asString(port.name),
    containerPort: asNumber(port.containerPort),
    hostPort: asNumber(port.hostPort),
    protocol: protocolOf(port.protocol),
    hostIP: asString(port.hostIP) ?? '',
  };
}

/** Upper-cased, `TCP` when unset; the usual values are taken as they are. */
function protocolOf(value: unknown): string {
  if (value === undefined || value === 'TCP' || value === 'UDP' || value === 'SCTP') return value ?? 'TCP';
  return (asString(value) ?? 'TCP').toUpperCase();
}
