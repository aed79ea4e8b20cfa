import { asNumber, asString, isObject, type Container } from './kube.js';

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
  const ports = container.ports;
  if (!Array.isArray(ports)) return [];
  const entries: PortEntry[] = [];
  for (let index = 0; index < ports.length; index++) {
    const port: unknown = ports[index];
    if (!isObject(port)) continue;
    const entry: PortEntry = { index, protocol: (asString(port.protocol) ?? 'TCP').toUpperCase(), hostIP: asString(port.hostIP) ?? '' };
    const name = asString(port.name);
    if (name !== undefined) entry.name = name;
    const containerPort = asNumber(port.containerPort);
    if (containerPort !== undefined) entry.containerPort = containerPort;
    const hostPort = asNumber(port.hostPort);
    if (hostPort !== undefined) entry.hostPort = hostPort;
    entries.push(entry);
  }
  return entries;
}
