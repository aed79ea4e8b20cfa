import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionReview, get, keepAliveAgent, post, spawnServe, webPod, type ServeProcess } from './support.js';

/** Seeded, so a failure reproduces; change it to explore other inputs. */
const SEED = 20_260_722;
const RUNS = 2500;
const CONCURRENCY = 16;

interface FuzzCase {
  /** Built just before sending, so thousands of large bodies never sit in memory at once. */
  body: () => string | Buffer;
  contentType: string;
  description: string;
}

type Json = unknown;
type Path = Array<string | number>;

function pathsOf(value: Json, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, index) => pathsOf(item, [...prefix, index], out));
  else if (typeof value === 'object' && value !== null) for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], out);
  return out;
}

function withValueAt(document: Json, path: Path, replace: (old: Json) => Json | undefined): Json {
  if (path.length === 0) return replace(document);
  const copy = structuredClone(document) as Record<string | number, Json>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  const next = replace(node[last]);
  if (next === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    node[last] = next;
  }
  return copy;
}

const baseReview = fc.record({ containers: fc.integer({ min: 1, max: 4 }), operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT') }).map(({ containers, operation }) =>
  admissionReview(webPod({ containers, clash: containers % 2 === 0 }), { operation: operation as 'CREATE', ...(operation === 'UPDATE' && { oldObject: webPod({ containers }) }) }),
);

const unicode = fc.oneof(fc.string({ unit: 'binary', maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 64 }), fc.constantFrom('\u0000', '\ud800', '💥'.repeat(200), '\u202e', 'é'.normalize('NFD')));

const deep = fc.record({ depth: fc.oneof(fc.integer({ min: 10, max: 2000 }), fc.integer({ min: 2000, max: 20_000 }).filter((depth) => depth % 8 === 0)), open: fc.constantFrom('[', '{"a":') }).map(({ depth, open }) => ({
  depth,
  text: () => `${open.repeat(depth)}${open === '[' ? '' : '1'}${(open === '[' ? ']' : '}').repeat(depth)}`,
}));

// Every element is evaluated (no size admits an object unchecked), so thousands, not tens of thousands, keep the
// run short; test/server/size.test.ts sends the largest pods the API server accepts.
const hugeArray = fc.record({ length: fc.integer({ min: 1000, max: 5000 }), element: fc.oneof(fc.constant<Json>({ name: 'c', ports: [{ containerPort: 80 }] }), fc.jsonValue({ maxDepth: 1 })) }).map(
  ({ length, element }) => ({ length, text: () => `[${new Array<string>(length).fill(JSON.stringify(element) ?? 'null').join(',')}]` }),
);

const contentType = fc.constantFrom('application/json', 'application/json', 'text/plain', '', 'application/yaml', 'nonsense', 'application/json; charset=latin1', 'multipart/form-data');

/** One body over the limit, shared by every case that sends it. */
const OVERSIZED = JSON.stringify({ padding: 'x'.repeat(11 * 1024 * 1024) });

const mutations: Array<fc.Arbitrary<Omit<FuzzCase, 'contentType'>>> = [
  // A field replaced by any JSON value (wrong types).
  fc.tuple(baseReview, fc.nat(), fc.jsonValue({ maxDepth: 3 })).map(([review, pick, value]) => {
    const paths = pathsOf(review);
    const path = paths[pick % paths.length]!;
    return { body: () => JSON.stringify(withValueAt(review, path, () => value)), description: `set ${path.join('.')}` };
  }),
  // A field removed.
  fc.tuple(baseReview, fc.nat()).map(([review, pick]) => {
    const paths = pathsOf(review).slice(1);
    const path = paths[pick % paths.length]!;
    return { body: () => JSON.stringify(withValueAt(review, path, () => undefined)), description: `delete ${path.join('.')}` };
  }),
  // Truncated anywhere.
  fc.tuple(baseReview, fc.double({ min: 0, max: 1, noNaN: true })).map(([review, cut]) => {
    const text = JSON.stringify(review);
    return { body: () => text.slice(0, Math.floor(text.length * cut)), description: `truncated at ${cut}` };
  }),
  // Unicode in string fields and keys.
  fc.tuple(baseReview, fc.nat(), unicode, unicode).map(([review, pick, value, key]) => {
    const paths = pathsOf(review).filter((path) => path.length > 0);
    const path = paths[pick % paths.length]!;
    const changed = withValueAt(review, path, (old) => (typeof old === 'object' && old !== null && !Array.isArray(old) ? { ...old, [key]: value } : value));
    return { body: () => JSON.stringify(changed), description: `unicode at ${path.join('.')}` };
  }),
  // Deep nesting in the object or in place of the whole request.
  fc.tuple(baseReview, deep, fc.boolean()).map(([review, nesting, whole]) => {
    const text = JSON.stringify(review);
    const body = () => (whole ? text.replace(/"request":/, `"request":${nesting.text()},"ignored":`) : text.replace(/"spec":\{/, `"spec":{"nested":${nesting.text()},`));
    return { body, description: `nesting ${nesting.depth} ${whole ? 'as request' : 'in spec'}` };
  }),
  // Huge arrays in the pod spec.
  fc.tuple(baseReview, hugeArray, fc.constantFrom('containers', 'initContainers', 'volumes')).map(([review, array, field]) => {
    const object = review.request.object ?? webPod();
    const text = JSON.stringify({ ...review, request: { ...review.request, object: { ...object, spec: { ...object.spec, [field]: 'HUGE' } } } });
    return { body: () => text.replace('"HUGE"', array.text()), description: `${array.length} ${field}` };
  }),
  // Not JSON at all.
  fc.uint8Array({ maxLength: 2048 }).map((bytes) => ({ body: () => Buffer.from(bytes), description: `${bytes.length} random bytes` })),
];

const mutation = fc.oneof(
  ...mutations.map((arbitrary) => ({ arbitrary, weight: 20 })),
  // Over the body limit, rarely: each one is 11 MiB on the wire.
  { arbitrary: fc.constant({ body: () => OVERSIZED, description: '11 MiB' }), weight: 1 },
);

describe('podpatterns serve under fuzzed AdmissionReviews', () => {
  // A process of its own: "stays up" means that process never exits, and the client gets the other core.
  let server: ServeProcess;

  beforeAll(async () => {
    server = await spawnServe();
  });
  afterAll(() => server?.stop());

  it(`answers ${RUNS} mutated reviews with 200, 400 or 413 and stays up`, async () => {
    const cases: FuzzCase[] = fc.sample(fc.record({ mutated: mutation, contentType }), { numRuns: RUNS, seed: SEED }).map(({ mutated, contentType: type }) => ({ ...mutated, contentType: type }));
    const agent = keepAliveAgent(server.ca, { maxSockets: CONCURRENCY });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const fuzz = cases[next++]!;
        try {
          const response = await post(`${server.url}/validate`, fuzz.body(), { ca: server.ca, agent, headers: { 'content-type': fuzz.contentType } });
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const wellFormed =
            response.status === 200
              ? response.json?.kind === 'AdmissionReview' && typeof response.json.response?.uid === 'string' && typeof response.json.response.allowed === 'boolean'
              : [400, 413].includes(response.status) && typeof response.json?.message === 'string';
          if (!wellFormed) failures.push(`${fuzz.description}: HTTP ${response.status} ${response.text.slice(0, 200)}`);
        } catch (error) {
          failures.push(`${fuzz.description}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    agent.destroy();

    expect(failures.slice(0, 10)).toEqual([]);
    // The generator must reach every kind of answer, or the test proves less than it claims.
    expect(statuses.get(200)).toBeGreaterThan(RUNS / 10);
    expect(statuses.get(400)).toBeGreaterThan(RUNS / 10);
    expect(statuses.get(413)).toBeGreaterThan(0);
    expect(server.child.exitCode).toBeNull();
    expect((await get(`${server.url}/livez`, { ca: server.ca })).status).toBe(200);
    const answer = await post(`${server.url}/validate`, JSON.stringify(admissionReview(webPod())), { ca: server.ca });
    expect(answer.json.response.allowed).toBe(false);
  }, 60_000);
});
