import { InvalidArgumentError, Option, type Command } from 'commander';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { Rule } from '../engine/types.js';
import { formatVersion, NEWEST_KNOWN_VERSION, parseVersion, type KubeVersion } from '../model/version.js';
import { PodpatternsError } from '../errors.js';
import { defaultPolicy, loadPolicyFile } from '../policy/policy.js';
import { auditPaths, DEFAULT_JOBS, type AuditSettings } from '../audit/files.js';
import type { AuditReport } from '../report/types.js';
import { renderJson, renderJsonPieces } from '../report/json.js';
import { renderSarif } from '../report/sarif.js';
import { FAIL_ON_CHOICES, hasFailingFindings, type FailOn } from '../report/summary.js';
import { renderText, renderTextErrors } from '../report/text.js';
import { ALL_RULES } from '../rules/index.js';
import type { ClusterAuditFlags, ClusterAuditIo } from './audit-cluster.js';
import { DEFAULT_MAX_RESULTS, REPORT_APIS } from '../report/policyreport.js';
import { clusterVersions } from './versions.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The entry point of the worker threads, beside this module: built, or the source when run through tsx. */
const AUDIT_WORKER = new URL(import.meta.url.endsWith('.ts') ? './audit-worker.ts' : './audit-worker.js', import.meta.url);

type OutputFormat = 'text' | 'json' | 'sarif' | 'policyreport';

interface AuditFlags extends Omit<ClusterAuditFlags, 'output'> {
  output: OutputFormat;
  kubernetesVersion?: KubeVersion;
  minKubeletVersion?: KubeVersion;
  policy?: string;
  failOn: FailOn;
  cluster?: boolean;
  jobs?: number;
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('Check manifests for multi-container pod patterns that break at runtime (e.g. helm template … | podpatterns audit -), or the workloads of a cluster (--cluster)')
    .argument('[paths...]', 'manifest files or directories (.yaml, .yml, .json, searched recursively); - reads standard input')
    .addOption(new Option('-o, --output <format>', 'report format (policyreport: one policy report per namespace, with --cluster)').choices(['text', 'json', 'sarif', 'policyreport']).default('text'))
    .option('--kubernetes-version <X.Y>', `API server version of the cluster (default ${formatVersion(NEWEST_KNOWN_VERSION)}; with --cluster, read from it)`, parseVersionFlag)
    .option('--min-kubelet-version <X.Y>', 'oldest kubelet in the cluster (default: the Kubernetes version; with --cluster, read from its nodes)', parseVersionFlag)
    .option('--policy <file>', 'policy file: rules to turn off, severities, rule options')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity').choices(FAIL_ON_CHOICES).default('deny'))
    .option('-j, --jobs <n>', `threads that parse and check large inputs (default: PODPATTERNS_JOBS, else 1: everything on the main thread); workers start from 8 MiB of input`, parsePositiveInteger)
    .option('--cluster', 'audit the workloads of a cluster instead of files (each controller once: a Deployment, not its ReplicaSets and Pods)')
    .option('-n, --namespace <name>', 'with --cluster: a namespace to audit, repeatable (default: the namespace of the kubeconfig context)', collect)
    .option('-A, --all-namespaces', 'with --cluster: audit every namespace')
    .option('--kubeconfig <file>', 'with --cluster: kubeconfig file (default: KUBECONFIG, ~/.kube/config, then the pod\'s service account)')
    .option('--context <name>', 'with --cluster: kubeconfig context (default: its current-context)')
    .option('--page-size <n>', 'with --cluster: objects per list request', parsePositiveInteger, 500)
    .option('--apply', 'with --output policyreport: create or replace the report of each namespace in the cluster')
    .addOption(
      new Option('--report-api <api>', 'with --output policyreport: openreports (openreports.io/v1alpha1 Report, the default) or wgpolicy (wgpolicyk8s.io/v1alpha2 PolicyReport)').choices(
        REPORT_APIS,
      ),
    )
    .option('--max-report-results <n>', 'with --output policyreport: results kept per report (the summary counts all)', parsePositiveInteger, DEFAULT_MAX_RESULTS)
    .action(async (paths: string[], flags: AuditFlags) => {
      const problem = usageProblem(paths, flags);
      if (problem) throw new PodpatternsError('PODPATTERNS_ERR_USAGE', problem);
      process.exitCode = flags.cluster ? await runClusterAudit(flags) : await runAudit(paths, flags);
    });
}

const CLUSTER_ONLY = ['namespace', 'allNamespaces', 'kubeconfig', 'context', 'apply', 'reportApi'] as const;

/** Flags that contradict each other; commander checks each flag alone. */
function usageProblem(paths: readonly string[], flags: AuditFlags): string | undefined {
  if (!flags.cluster) {
    if (paths.length === 0) return "missing required argument 'paths' (or --cluster to audit a cluster)";
    const used = CLUSTER_ONLY.filter((flag) => flags[flag] !== undefined);
    if (used.length > 0) return `--${used.map(kebab).join(', --')} ${used.length === 1 ? 'applies' : 'apply'} only with --cluster`;
    if (flags.output === 'policyreport') return '--output policyreport only applies with --cluster';
    return undefined;
  }
  if (paths.length > 0) return `--cluster audits the cluster, not files: remove ${paths.join(' ')}`;
  if (flags.jobs !== undefined) return '--jobs applies only to files (a cluster audit waits on the API server)';
  if (flags.allNamespaces && flags.namespace) return '--all-namespaces and --namespace exclude each other';
  if (flags.apply && flags.output !== 'policyreport') return '--apply writes policy reports: add --output policyreport';
  if (flags.reportApi !== undefined && flags.output !== 'policyreport') return '--report-api applies only with --output policyreport';
  return undefined;
}

function kebab(flag: string): string {
  return flag.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** Loaded only for --cluster: the Kubernetes client and node:http are not needed to read files. */
async function runClusterAudit(flags: AuditFlags): Promise<number> {
  const { runClusterAudit: run } = await import('./audit-cluster.js');
  return run(flags, clusterIo(flags));
}

/** The cluster audit prints and reads settings exactly like the file audit. */
function clusterIo(flags: AuditFlags): ClusterAuditIo {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    settings: (versions) => auditSettings({ policy: flags.policy, ...versions }, ALL_RULES),
    render: (report) => render(report, flags.output, ALL_RULES, colorEnabled(process.stdout, process.env)),
    renderErrors: (errors) => renderTextErrors(errors, { color: colorEnabled(process.stderr, process.env) }),
  };
}

/** Exit codes: 0 no finding at or above --fail-on, 1 such findings, 2 something could not be read or checked. */
async function runAudit(paths: string[], flags: AuditFlags): Promise<number> {
  const settings = await auditSettings(flags, ALL_RULES);
  const report = await auditPaths(paths, settings, readStdin, { jobs: flags.jobs ?? jobsFromEnvironment(process.env), worker: { url: AUDIT_WORKER, rules: ALL_RULES } });
  if (flags.output === 'json') await writePieces(process.stdout, renderJsonPieces(report));
  else process.stdout.write(render(report, flags.output, settings.rules, colorEnabled(process.stdout, process.env)));
  if (report.errors.length > 0) {
    process.stderr.write(renderTextErrors(report.errors, { color: colorEnabled(process.stderr, process.env) }));
    return EXIT_USAGE;
  }
  return hasFailingFindings(report, flags.failOn) ? EXIT_FINDINGS : EXIT_OK;
}

/** The cluster and policy the command line asks for. */
async function auditSettings(flags: Pick<AuditFlags, 'kubernetesVersion' | 'minKubeletVersion' | 'policy'>, rules: readonly Rule[]): Promise<AuditSettings> {
  const { kubernetesVersion, minKubeletVersion } = clusterVersions(flags);
  const policy = flags.policy !== undefined ? await loadPolicyFile(flags.policy, rules) : defaultPolicy(rules);
  return { context: { kubernetesVersion, minKubeletVersion }, policy, rules };
}

/** Writes a large output piece by piece, waiting whenever the stream asks to. */
async function writePieces(stream: NodeJS.WritableStream, pieces: Iterable<string>): Promise<void> {
  for (const piece of pieces) if (!stream.write(piece)) await once(stream, 'drain');
}

/** Colours for a terminal only, and never when NO_COLOR is set to anything but '' (https://no-color.org). */
export function colorEnabled(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

function render(report: AuditReport, format: OutputFormat, rules: readonly Rule[], color: boolean): string {
  if (format === 'json') return renderJson(report);
  if (format === 'sarif') return renderSarif(report, { rules, toolVersion: version, cwd: process.cwd() });
  return renderText(report, { color, rules });
}

/** PODPATTERNS_JOBS when set (a whole number of at least 1), else DEFAULT_JOBS (the main thread alone). */
export function jobsFromEnvironment(env: Readonly<Record<string, string | undefined>>): number {
  const value = env.PODPATTERNS_JOBS;
  if (value === undefined || value === '') return DEFAULT_JOBS;
  const jobs = Number(value);
  if (!Number.isInteger(jobs) || jobs < 1) throw new PodpatternsError('PODPATTERNS_ERR_USAGE', `PODPATTERNS_JOBS=${value}: expected a whole number of at least 1`);
  return jobs;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return parsed;
}

/** Commander names the flag and the value in front of the message. */
function parseVersionFlag(value: string): KubeVersion {
  const parsed = parseVersion(value);
  if (!parsed) throw new InvalidArgumentError('expected a Kubernetes version such as 1.31 or v1.31.2.');
  return parsed;
}

async function* readStdin(): AsyncIterable<Uint8Array> {
  for await (const chunk of process.stdin) yield chunk as Buffer;
}
