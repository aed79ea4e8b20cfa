import { asString, isObject, type Container } from './kube.js';
import { memoized } from './memo.js';

/** A port a container's args or env mention, and where. */
export interface PortMention {
  port: number;
  /** Dotted path of the field, e.g. `spec.containers[0].env[2].value` or `spec.containers[1].args[3]`. */
  path: string;
  /** What names it, for messages: `env DB_HOST`, `arg --upstream`, `args[2]`. */
  source: string;
  /** The address as written, e.g. `localhost:5433`. */
  text: string;
}

export interface ContainerEndpoints {
  /** Ports the container is told to listen on by its own args or env (`--port=8081`, `LISTEN_ADDR=127.0.0.1:4140`). */
  listens: PortMention[];
  /** Loopback addresses (`localhost`, `127.x.x.x`, `[::1]`) the container is told to connect to. */
  connects: PortMention[];
}

const LOOPBACK_ADDRESS = /(?<![\w.-])(localhost|127(?:\.\d{1,3}){3}|\[(?:::1|0:0:0:0:0:0:0:1)\]):(\d{1,5})(?![\d.])/g;
const NO_MATCHES: readonly RegExpExecArray[] = [];
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|::1|\[::1\])$/i;
/** Name words that make an address the container's own listener whatever else the name says. */
const LISTEN_WORDS = new Set(['listen', 'listener', 'listeners', 'bind', 'serve', 'serving']);
const ADDRESS_WORDS = new Set(['port', 'ports', 'addr', 'addrs', 'address', 'addresses', 'endpoint', 'endpoints']);
/**
 * Words that only say which of its own servers an address is (`--http-endpoint`, `--health-port`,
 * `--metrics-addr`). Any other word (`upstream`, `db`, `vault`, `otlp`, `exporter`) names a peer, so
 * `VAULT_ADDR=http://127.0.0.1:8200` and `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317` are
 * connections, not listeners.
 */
const OWN_SERVER_WORDS = new Set([
  'http', 'https', 'http2', 'h2c', 'grpc', 'tcp', 'udp', 'web', 'health', 'healthz', 'liveness', 'readiness', 'probe',
  'metrics', 'metric', 'telemetry', 'admin', 'debug', 'pprof', 'profiling', 'status', 'stats', 'secure', 'insecure',
  'internal', 'inbound', 'control', 'monitoring', 'management', 'mgmt', 'local', 'self',
]);
/** `HOST`/`PORT` env pairs such as `DB_HOST=localhost` + `DB_PORT=5432`. */
const HOST_SUFFIX = /^(.*?)(HOST|HOSTNAME|SERVER|ADDR|ADDRESS)$/i;

/** What endpointsOf reads of a container: its spec, and where it is in the object (for the paths it reports). */
export interface EndpointSource {
  readonly spec: Container;
  readonly path: string;
}

/** The ports a container is told to listen on and the loopback addresses it is told to reach, from its args and env. */
export function endpointsOf(container: EndpointSource): ContainerEndpoints {
  const result: ContainerEndpoints = { listens: [], connects: [] };
  const expand = expander(container);
  const env = literalEnv(container, expand);
  const paired = hostPortPairs(container, env, result);
  for (const entry of env) {
    if (paired.has(entry.index)) continue;
    classify(entry.name, entry.value, `${container.path}.env[${entry.index}].value`, `env ${entry.name}`, result);
  }
  const values = new Map(env.map((entry) => [entry.name, entry.value]));
  const tokens = argvTokens(container, values, expand);
  for (let i = 0; i < tokens.length; i++) {
    const { text, path, field } = tokens[i]!;
    const flag = /^--?([A-Za-z][\w.-]*)(?:=(.*))?$/.exec(text);
    if (!flag) {
      classify(undefined, text, path, field, result);
      continue;
    }
    const name = flag[1]!;
    let value = flag[2];
    const next = tokens[i + 1];
    // `--listen 127.0.0.1:9000` as two argv entries: the value is the next token.
    if (value === undefined && next && !next.text.startsWith('-') && /[:\d]/.test(next.text) && isAddressName(name)) {
      value = next.text;
      i++;
    }
    if (value !== undefined) classify(name, value, path, `arg --${name}`, result);
  }
  return result;
}

function classify(name: string | undefined, value: string, path: string, source: string, result: ContainerEndpoints): void {
  // Every address and port read here follows a colon, but for a bare port: most values (log levels, names, paths) are neither.
  const colon = value.includes(':');
  if (!colon && !/^\s*\d/.test(value)) return;
  if (colon) for (const port of cloudSqlProxyPorts(value)) result.listens.push({ port, path, source, text: value });
  const loopback = colon ? [...value.matchAll(LOOPBACK_ADDRESS)] : NO_MATCHES;
  if (name !== undefined && isListenerName(name)) {
    for (const port of listenPorts(value)) result.listens.push({ port, path, source, text: value });
    return;
  }
  for (const match of loopback) {
    const port = Number(match[2]);
    if (validPort(port)) result.connects.push({ port, path, source, text: match[0] });
  }
  // `--admin-addr=0.0.0.0:9990`, `--port=8080`, `--dapr-http-port=3500`: an address with no peer host, or a
  // bare port, is one the container itself binds.
  if (name !== undefined && loopback.length === 0 && ADDRESS_WORDS.has(nameWords(name).at(-1) ?? '') && ownAddress(value)) {
    for (const port of listenPorts(value)) result.listens.push({ port, path, source, text: value });
  }
}

/** Listen/bind/serve anywhere in the name, or an address word qualified only by words that name its own servers. */
function isListenerName(name: string): boolean {
  const words = nameWords(name);
  if (words.some((word) => LISTEN_WORDS.has(word))) return true;
  const last = words.at(-1);
  return last !== undefined && ADDRESS_WORDS.has(last) && words.slice(0, -1).every((word) => OWN_SERVER_WORDS.has(word));
}

function isAddressName(name: string): boolean {
  const words = nameWords(name);
  return words.some((word) => LISTEN_WORDS.has(word) || ADDRESS_WORDS.has(word));
}

/**
 * `LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR` → linkerd2, proxy, outbound, listen, addr; `webListenAddress` → web, listen, address.
 * Fleets reuse a few hundred env and flag names; the words are shared, never changed.
 */
const nameWords: (name: string) => readonly string[] = memoized((name) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word.toLowerCase()),
);

/** A bare port, or an address whose host is empty, a wildcard or a pod-level variable (`$(POD_IP)`). */
function ownAddress(value: string): boolean {
  if (/^\d{1,5}$/.test(value.trim())) return true;
  const address = /^(?:[a-z][\w+.-]*:\/\/)?(\[[^\]]*\]|[^:/\s]*):\d{1,5}(?:\/|$)/i.exec(value.trim());
  if (!address) return false;
  const host = address[1] ?? '';
  return host === '' || host === '*' || /^(?:0\.0\.0\.0|\[::\]|\[0:0:0:0:0:0:0:0\])$/.test(host) || host.startsWith('$(') || host.startsWith('[$(');
}

function listenPorts(value: string): number[] {
  const trimmed = value.trim();
  if (/^\d{1,5}$/.test(trimmed)) return validPort(Number(trimmed)) ? [Number(trimmed)] : [];
  // IPv6 hosts are bracketed; their colons are not ports.
  const unbracketed = withoutBrackets(trimmed);
  return [...unbracketed.matchAll(/:(\d{1,5})(?![\d.])/g)].map((match) => Number(match[1])).filter(validPort);
}

/** `[::1]:8080` → `h:8080`: each `[…]` becomes `h`, in one pass (a `[` with no `]` after it is left as is). */
function withoutBrackets(text: string): string {
  let result = '';
  let from = 0;
  for (let open = text.indexOf('[', from); open >= 0; open = text.indexOf('[', from)) {
    const close = text.indexOf(']', open + 1);
    if (close < 0) break;
    result += `${text.slice(from, open)}h`;
    from = close + 1;
  }
  return result + text.slice(from);
}

/** Cloud SQL Auth Proxy listeners: v1 `-instances=project:region:db=tcp:3306`, v2 `project:region:db?port=5432`. */
function cloudSqlProxyPorts(value: string): number[] {
  const ports = [...value.matchAll(/=tcp:(?:[\w.]+:)?(\d{1,5})(?![\d.])/g), ...value.matchAll(/^[\w.-]+:[\w.-]+:[\w.-]+\?(?:.*&)?port=(\d{1,5})\b/g)];
  return ports.map((match) => Number(match[1])).filter(validPort);
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < 65_536;
}

interface EnvEntry {
  index: number;
  name: string;
  value: string;
}

type Expand = (text: string, values: ReadonlyMap<string, string>) => string;

/**
 * Expands `$(VAR)` references as the kubelet does, within a budget of characters: values that reference
 * earlier ones twice over double at each step, so without one a few dozen env entries would expand to more than
 * any string can hold. The budget, twice the container's own env and argv plus 64 KiB, is far beyond what
 * addresses need; once it is spent, references stay as written.
 */
function expander(container: EndpointSource): Expand {
  let budget = 65_536;
  for (const entry of Array.isArray(container.spec.env) ? container.spec.env : []) {
    if (isObject(entry) && typeof entry.value === 'string') budget += 2 * entry.value.length;
  }
  for (const list of [container.spec.command, container.spec.args]) {
    for (const item of Array.isArray(list) ? list : []) if (typeof item === 'string') budget += 2 * item.length;
  }
  return (text, values) => {
    if (!text.includes('$(')) return text;
    return text.replace(/\$\(([A-Za-z_][\w.-]*)\)/g, (whole, name: string) => {
      const value = values.get(name);
      if (value === undefined || value.length > budget) return whole;
      budget -= value.length;
      return value;
    });
  };
}

/** Env vars with a literal value, `$(VAR)` references to earlier ones expanded as the kubelet does. */
function literalEnv(container: EndpointSource, expand: Expand): EnvEntry[] {
  const entries: EnvEntry[] = [];
  const known = new Map<string, string>();
  (Array.isArray(container.spec.env) ? container.spec.env : []).forEach((entry, index) => {
    if (!isObject(entry)) return;
    const name = asString(entry.name);
    const raw = asString(entry.value);
    if (name === undefined || raw === undefined) return;
    const value = expand(raw, known);
    known.set(name, value);
    entries.push({ index, name, value });
  });
  return entries;
}

/** `DB_HOST=localhost` with `DB_PORT=5432` is a connection to localhost:5432; the port var is then not a listener. */
function hostPortPairs(container: EndpointSource, env: EnvEntry[], result: ContainerEndpoints): Set<number> {
  const paired = new Set<number>();
  let byName: Map<string, EnvEntry> | undefined;
  for (const host of env) {
    const match = HOST_SUFFIX.exec(host.name);
    if (!match || !LOOPBACK_HOST.test(host.value.trim())) continue;
    if (!byName) {
      // The first entry of each name, case-insensitively, as a search in env order would find it.
      byName = new Map();
      for (const entry of env) {
        const lower = entry.name.toLowerCase();
        if (!byName.has(lower)) byName.set(lower, entry);
      }
    }
    const port = byName.get(`${match[1]}port`.toLowerCase());
    if (!port || !/^\d{1,5}$/.test(port.value.trim()) || !validPort(Number(port.value))) continue;
    paired.add(host.index).add(port.index);
    result.connects.push({
      port: Number(port.value),
      path: `${container.path}.env[${port.index}].value`,
      source: `env ${host.name} + ${port.name}`,
      text: `${host.value.trim()}:${port.value.trim()}`,
    });
  }
  return paired;
}

interface ArgvToken {
  text: string;
  path: string;
  /** `command[0]`, `args[2]`: where the token came from, for messages. */
  field: string;
}

/** Every whitespace-separated word of command and args (shell scripts included), `$(VAR)` expanded. */
function argvTokens(container: EndpointSource, env: ReadonlyMap<string, string>, expand: Expand): ArgvToken[] {
  const tokens: ArgvToken[] = [];
  for (const section of ['command', 'args'] as const) {
    const list = container.spec[section];
    if (!Array.isArray(list)) continue;
    list.forEach((item, index) => {
      if (typeof item !== 'string') return;
      const field = `${section}[${index}]`;
      for (const word of expand(item, env).split(/\s+/)) {
        const text = unquoted(word);
        if (text) tokens.push({ text, path: `${container.path}.${field}`, field });
      }
    });
  }
  return tokens;
}

/** A word without the quotes around it and a trailing `;`: `'--port=80';` → `--port=80`. */
function unquoted(word: string): string {
  let start = 0;
  let end = word.length;
  while (start < end && (word[start] === "'" || word[start] === '"')) start++;
  while (end > start && (word[end - 1] === "'" || word[end - 1] === '"' || word[end - 1] === ';')) end--;
  return word.slice(start, end);
}
