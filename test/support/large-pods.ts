/**
 * The largest pods the API server accepts: each AdmissionReview body stays under its 3 MiB request limit
 * (k8s.io/apiserver pkg/server/config.go: MaxRequestBodyBytes, 3 × 1024 × 1024). Every one also carries a port
 * conflict, so a full verdict is a denial and anything else (an unchecked admission, an error) shows.
 * Used by the size tests (through the real HTTPS server) and by `npm run bench:large`.
 */

export const API_SERVER_REQUEST_LIMIT = 3 * 1024 * 1024;

const range = (n: number) => Array.from({ length: n }, (_, index) => index);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const CLASH = [
  { name: 'app', image: 'registry.example.com/app:1.0.0', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } },
  { name: 'metrics-proxy', image: 'registry.example.com/proxy:1.0.0', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '10m', memory: '16Mi' } } },
];

function pod(name: string, spec: Json): Json {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec };
}

/** A pod as large as fits: `grow(n)` for the largest n whose review body stays under the limit (by bisection). */
function largest(build: (n: number) => Json, limit = API_SERVER_REQUEST_LIMIT - 4096): Json {
  let low = 1;
  let high = 2;
  while (reviewBody(build(high)).length <= limit) high *= 2;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (reviewBody(build(middle)).length <= limit) low = middle;
    else high = middle;
  }
  return build(low);
}

export interface LargePod {
  name: string;
  object: Json;
}

/** The large pods, built on demand (each is megabytes). */
export const LARGE_PODS: ReadonlyArray<{ name: string; build: () => Json }> = [
  {
    name: '1 container with ~60,000 env entries',
    build: () =>
      largest((n) => pod('env', { containers: [{ ...CLASH[0], env: range(n).map((i) => ({ name: `VARIABLE_${i}`, value: `value-${i}` })) }, CLASH[1]] })),
  },
  {
    name: '100 containers × 20 ports',
    build: () =>
      pod('ports', {
        containers: [
          ...CLASH,
          ...range(98).map((c) => ({ name: `c${c}`, image: `registry.example.com/c${c}:1.0.0`, ports: range(20).map((p) => ({ name: `p${p}`, containerPort: 10_000 + c * 20 + p, protocol: 'TCP' })) })),
        ],
      }),
  },
  {
    name: '50 init containers',
    build: () =>
      pod('inits', {
        initContainers: range(50).map((i) => ({
          name: `init-${i}`,
          image: 'busybox:1.37.0',
          command: ['sh', '-c', `until nc -z db-${i} 5432; do sleep 2; done`],
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
          ...(i % 5 === 0 && { restartPolicy: 'Always', ports: [{ containerPort: 9000 + i }] }),
        })),
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: CLASH,
      }),
  },
  {
    name: '1,000 containers',
    build: () =>
      pod('thousand', {
        volumes: [{ name: 'data', emptyDir: { medium: 'Memory' } }],
        containers: [
          ...CLASH,
          ...range(998).map((i) => ({
            name: `helper-${i}`,
            image: `registry.example.com/helper-${i}:1.0.${i}`,
            args: [`--listen=127.0.0.1:${20_000 + i}`, `--upstream=http://localhost:${30_000 + i}`],
            env: [{ name: 'PEER_HOST', value: 'localhost' }, { name: 'PEER_PORT', value: String(40_000 + i) }],
            ports: [{ containerPort: 8080 }, { containerPort: 20_000 + i }],
            volumeMounts: [{ name: 'data', mountPath: `/data` }],
            readinessProbe: { tcpSocket: { port: 20_000 + i } },
            lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 45'] } } },
          })),
        ],
      }),
  },
  {
    name: 'as many containers as fit',
    build: () => largest((n) => pod('many', { containers: [...CLASH, ...range(n).map((i) => ({ name: `c${i}`, image: 'i' }))] })),
  },
  {
    name: 'very long commands',
    build: () =>
      largest((n) =>
        pod('commands', {
          initContainers: [{ name: 'setup', image: 'busybox:1.37.0', command: ['sh', '-c', `${'sleep 1 ; tail -n 1 /x ; while true; do echo ; '.repeat(n)}wait`] }],
          containers: [...CLASH, { name: 'loop', image: 'busybox:1.37.0', args: ['sh', '-c', `${'nginx -g x & '.repeat(n)}wait`] }],
        }),
      ),
  },
  {
    // Shapes that make backtracking regular expressions quadratic: long runs after a construct, unclosed brackets.
    name: 'adversarial commands and values',
    build: () => {
      const run = (n: number) => ' '.repeat(n);
      return largest((n) =>
        pod('adversarial', {
          initContainers: [
            { name: 'a', image: 'busybox:1.37.0', command: ['sh', `-${'c'.repeat(n)}!`, `while true${run(n)}x`] },
            { name: 'b', image: 'busybox:1.37.0', command: ['sh', '-c', `sleep infinity${run(n)}) x${run(n)}wait${run(n)}x ${'do '.repeat(n / 8)}`] },
            { name: 'c', image: 'busybox:1.37.0', command: ['sh', '-c', `nc -${'l'.repeat(n)}x ; nginx${run(n)}x ; ${'linkerd-await '.repeat(n / 16)}`] },
          ],
          containers: [
            { ...CLASH[0], env: [{ name: 'LISTEN_ADDR', value: `localhost:1${'['.repeat(n)}` }, { name: 'Q', value: `x=tcp:${'1'.repeat(n)}x` }] },
            { ...CLASH[1], args: [`--upstream=localhost:9${"'".repeat(n)}x`], resources: { requests: { cpu: `${'1'.repeat(n)}x`, memory: '16Mi' } } },
          ],
        }),
      );
    },
  },
  {
    name: 'env values that reference earlier ones twice over',
    build: () =>
      pod('expansion', {
        containers: [
          { ...CLASH[0], env: range(200).map((i) => ({ name: `V${i}`, value: i === 0 ? 'localhost:1234 ' : `$(V${i - 1})$(V${i - 1})` })), args: ['--upstream=$(V199)'] },
          CLASH[1],
        ],
      }),
  },
];

let uid = 0;

/** The AdmissionReview the API server would send for a CREATE of `object` in `default`. */
export function reviewBody(object: Json): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `large-${++uid}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'default',
      name: object?.metadata?.name,
      operation: 'CREATE',
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters'] },
      object,
      oldObject: null,
      dryRun: false,
    },
  });
}
