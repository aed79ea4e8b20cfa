import { InvalidArgumentError, Option, type Command } from 'commander';
import { createRequire } from 'node:module';
import type { Rule } from '../engine/types.js';
import { compareVersions, formatVersion, NEWEST_KNOWN_VERSION, parseVersion, type KubeVersion } from '../model/version.js';
import { PodpatternsError } from '../policy/errors.js';
import { defaultPolicy, loadPolicyFile } from '../policy/policy.js';
import { auditPaths, type AuditReport, type AuditSettings } from '../report/audit.js';
import { renderJson } from '../report/json.js';
import { renderSarif } from '../report/sarif.js';
import { FAIL_ON_CHOICES, hasFailingFindings, type FailOn } from '../report/summary.js';
import { renderText, renderTextErrors } from '../report/text.js';
import { ALL_RULES } from '../rules/index.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './main.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

type OutputFormat = 'text' | 'json' | 'sarif';

interface AuditFlags {
  output: OutputFormat;
  kubernetesVersion?: KubeVersion;
  minKubeletVersion?: KubeVersion;
  policy?: string;
  failOn: FailOn;
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('Check manifests for multi-container pod patterns that break at runtime (e.g. helm template … | podpatterns audit -)')
    .argument('<paths...>', 'manifest files or directories (.yaml, .yml, .json, searched recursively); - reads standard input')
    .addOption(new Option('-o, --output <format>', 'report format').choices(['text', 'json', 'sarif']).default('text'))
    .option('--kubernetes-version <X.Y>', `API server version of the cluster (default ${formatVersion(NEWEST_KNOWN_VERSION)})`, parseVersionFlag)
    .option('--min-kubelet-version <X.Y>', 'oldest kubelet in the cluster (default: the Kubernetes version)', parseVersionFlag)
    .option('--policy <file>', 'policy file: rules to turn off, severities, rule options')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity').choices(FAIL_ON_CHOICES).default('deny'))
    .action(async (paths: string[], flags: AuditFlags) => {
      process.exitCode = await runAudit(paths, flags);
    });
}

/** Exit codes: 0 no finding at or above --fail-on, 1 such findings, 2 something could not be read or checked. */
async function runAudit(paths: string[], flags: AuditFlags): Promise<number> {
  const settings = await auditSettings(flags, ALL_RULES);
  const report = await auditPaths(paths, settings, readStdin);
  process.stdout.write(render(report, flags.output, settings.rules, colorEnabled(process.stdout, process.env)));
  if (report.errors.length > 0) {
    process.stderr.write(renderTextErrors(report.errors, { color: colorEnabled(process.stderr, process.env) }));
    return EXIT_USAGE;
  }
  return hasFailingFindings(report, flags.failOn) ? EXIT_FINDINGS : EXIT_OK;
}

/** The cluster and policy the command line asks for. */
async function auditSettings(flags: Pick<AuditFlags, 'kubernetesVersion' | 'minKubeletVersion' | 'policy'>, rules: readonly Rule[]): Promise<AuditSettings> {
  const kubernetesVersion = flags.kubernetesVersion ?? NEWEST_KNOWN_VERSION;
  const minKubeletVersion = flags.minKubeletVersion ?? kubernetesVersion;
  if (compareVersions(minKubeletVersion, kubernetesVersion) > 0) {
    // Kubelets may be older than the API server, never newer (https://kubernetes.io/releases/version-skew-policy/).
    throw new PodpatternsError(
      'PODPATTERNS_ERR_USAGE',
      `--min-kubelet-version ${formatVersion(minKubeletVersion)} is newer than --kubernetes-version ${formatVersion(kubernetesVersion)}: kubelets are never newer than the API server`,
    );
  }
  const policy = flags.policy !== undefined ? await loadPolicyFile(flags.policy, rules) : defaultPolicy(rules);
  return { context: { kubernetesVersion, minKubeletVersion }, policy, rules };
}

/** Colours for a terminal only, and never when NO_COLOR is set to anything but '' (https://no-color.org). */
export function colorEnabled(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

function render(report: AuditReport, format: OutputFormat, rules: readonly Rule[], color: boolean): string {
  if (format === 'json') return renderJson(report);
  if (format === 'sarif') return renderSarif(report, { rules, toolVersion: version, cwd: process.cwd() });
  return renderText(report, { color });
}

/** Commander names the flag and the value in front of the message. */
function parseVersionFlag(value: string): KubeVersion {
  const parsed = parseVersion(value);
  if (!parsed) throw new InvalidArgumentError('expected a Kubernetes version such as 1.31 or v1.31.2.');
  return parsed;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
