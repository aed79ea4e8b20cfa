/**
 * The largest pods the API server accepts (AdmissionReview bodies up to its 3 MiB request limit): how long
 * podpatterns takes to answer each one, next to JSON.parse of the same body, the floor any webhook pays.
 * Every pod gets a full verdict (each carries a port conflict, so the answer is a denial): the numbers must stay
 * well under the webhook timeout (the chart's default is 5 s).
 *
 *   npm run bench:large [rounds]       (profile: node --cpu-prof --import tsx test/bench/large.ts)
 *
 * Columns, medians of the rounds: JSON.parse of the body; /validate (decode, every rule, the response);
 * /mutate (the dropped-field rules and the sidecar migration plan); findings; CPU time of one /validate,
 * which the other processes of a busy machine do not inflate as much as wall time.
 */
import { validateRequest } from '../../src/admission/admit.js';
import { migrationStep } from '../../src/admission/migration-step.js';
import { mutateRequest } from '../../src/admission/mutate.js';
import { decodeAdmissionReview } from '../../src/admission/review.js';
import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
import { parsePolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { LARGE_PODS, reviewBody } from '../support/large-pods.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const versions = { kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION };
const policy = parsePolicy('migration:\n  mode: apply\n  pods: true\n', '(bench)', ALL_RULES);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

const rows: string[][] = [];
for (const { name, build } of LARGE_PODS) {
  const body = reviewBody(build());
  const parse: number[] = [];
  const validate: number[] = [];
  const mutate: number[] = [];
  const cpu: number[] = [];
  let findings = 0;
  let allowed = true;
  for (let round = 0; round < ROUNDS; round++) {
    let started = performance.now();
    JSON.parse(body);
    parse.push(performance.now() - started);

    started = performance.now();
    const cpuStarted = cpuMs();
    const result = validateRequest(decodeAdmissionReview(JSON.parse(body)).request, { rules: ALL_RULES, policy, versions, mode: 'enforce' });
    validate.push(performance.now() - started);
    cpu.push(cpuMs() - cpuStarted);
    findings = result.decision.findings.length;
    allowed = result.response.allowed;

    started = performance.now();
    await mutateRequest(decodeAdmissionReview(JSON.parse(body)).request, { rules: ALL_RULES, policy, versions, mode: 'enforce', mutation: migrationStep });
    mutate.push(performance.now() - started);
  }
  if (allowed) throw new Error(`${name}: admitted; every large pod carries a port conflict and must be denied`);
  rows.push([name, `${(body.length / 1024 / 1024).toFixed(2)} MiB`, `${median(parse).toFixed(0)} ms`, `${median(validate).toFixed(0)} ms`, `${median(mutate).toFixed(0)} ms`, String(findings), `${median(cpu).toFixed(0)} ms`]);
  console.error(`measured ${name}`);
}

const header = ['pod', 'body', 'JSON.parse', '/validate', '/mutate', 'findings', '/validate CPU'];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
console.log(line(header));
for (const row of rows) console.log(line(row));
