import { InvalidArgumentError, Option, type Command } from 'commander';
import { ADMISSION_MODES, type AdmissionMode } from '../admission/mode.js';
import type { Compilation, CompileOptions } from '../cel/compile.js';
import { DEFAULT_RELEASE_NAMESPACE } from '../cel/namespaces.js';
import { yamlPackage } from '../input/yaml-package.js';
import type { KubeObject } from '../model/kube.js';
import { formatVersion, NEWEST_KNOWN_VERSION, parseVersion, type KubeVersion } from '../model/version.js';
import type { Policy } from '../policy/policy.js';
import { defaultPolicy, loadPolicyFile } from '../policy/policy.js';
import { ALL_RULES } from '../rules/index.js';
import { clusterVersions } from './versions.js';
import { EXIT_OK } from './exit-codes.js';

interface CompileFlags {
  kubernetesVersion?: KubeVersion;
  minKubeletVersion?: KubeVersion;
  policy?: string;
  mode: AdmissionMode;
  output: 'yaml' | 'json';
  namespace: string;
  excludeNamespace?: string[];
}

export { DEFAULT_RELEASE_NAMESPACE } from '../cel/namespaces.js';

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('Print the rules as in-tree ValidatingAdmissionPolicies, and the sidecar migration as a MutatingAdmissionPolicy on 1.36+, for a cluster (podpatterns compile | kubectl apply -f -)')
    .option('--kubernetes-version <X.Y>', `API server version of the cluster (default ${formatVersion(NEWEST_KNOWN_VERSION)}; 1.30 or newer)`, parseVersionFlag)
    .option('--min-kubelet-version <X.Y>', 'oldest kubelet in the cluster (default: the Kubernetes version)', parseVersionFlag)
    .option('--policy <file>', 'policy file: rules to turn off, severities, rule options, exemptions')
    .addOption(new Option('--mode <mode>', 'what deny findings do: enforce denies, warn only warns, audit only records').choices(ADMISSION_MODES).default('enforce'))
    .addOption(new Option('-o, --output <format>', 'yaml (a multi-document stream) or json (a List)').choices(['yaml', 'json']).default('yaml'))
    .option('-n, --namespace <name>', 'namespace podpatterns is installed in: no policy applies there, nor in kube-system', DEFAULT_RELEASE_NAMESPACE)
    .option('--exclude-namespace <name>', 'another namespace no policy applies to, repeatable', collect)
    .action(async (flags: CompileFlags) => {
      const compilation = await compile(flags);
      process.stdout.write(render(compilation, flags));
      for (const skipped of compilation.skipped) process.stderr.write(`podpatterns compile: ${skipped.rule} not compiled (${skipped.why}): ${skipped.reason}\n`);
      if (compilation.migrationSkipped) process.stderr.write(`podpatterns compile: no sidecar migration policy: ${compilation.migrationSkipped}\n`);
      for (const note of expiryNotes(compilation.policy)) process.stderr.write(`podpatterns compile: ${note}\n`);
      process.exitCode = EXIT_OK;
    });
}

async function compile(flags: CompileFlags): Promise<Compilation & { options: CompileOptions; policy: Policy }> {
  const { kubernetesVersion, minKubeletVersion } = clusterVersions(flags);
  const policy = flags.policy !== undefined ? await loadPolicyFile(flags.policy, ALL_RULES) : defaultPolicy(ALL_RULES);
  const options: CompileOptions = {
    kubernetesVersion,
    minKubeletVersion,
    mode: flags.mode,
    releaseNamespace: flags.namespace,
    excludedNamespaces: flags.excludeNamespace ?? [],
  };
  // Loaded here, not at start-up: the other commands never compile.
  const { compilePolicies } = await import('../cel/compile.js');
  return { ...compilePolicies(ALL_RULES, policy, options), options, policy };
}

/** CEL has no clock: each exemption compiled with an end date stays in force until compile runs again after it. */
function expiryNotes(policy: Policy): string[] {
  const now = Date.now();
  return policy.exemptions.list
    .filter((entry) => entry.expires !== undefined && now < entry.expires.endsAt)
    .map((entry) => `exemption ${entry.namespace}/${entry.kind ?? '*'}/${entry.name ?? '*'} ends after ${entry.expires!.date}: run podpatterns compile and apply again after that day, the compiled policies cannot tell the date`);
}

/** YAML documents (with a header saying what was compiled for what) or one JSON List; both are `kubectl apply -f -` input. */
export function render(compilation: Compilation & { options: CompileOptions }, flags: Pick<CompileFlags, 'output'>): string {
  if (flags.output === 'json') return `${JSON.stringify(list(compilation.objects), null, 2)}\n`;
  const { options } = compilation;
  const header = [
    `# podpatterns compile: Kubernetes ${formatVersion(options.kubernetesVersion)}, kubelets from ${formatVersion(options.minKubeletVersion)}, mode ${options.mode}`,
    `# compiled: ${compilation.compiled.join(', ') || 'none'}`,
    ...compilation.skipped.map((skipped) => `# not compiled: ${skipped.rule} (${skipped.why}): ${skipped.reason}`),
    compilation.migrationSkipped ? `# no sidecar migration policy: ${compilation.migrationSkipped}` : '# sidecar migration: the policies named podpatterns-sidecar-migration',
  ];
  const documents = compilation.objects.map((object) => `---\n${yamlPackage().stringify(object, { lineWidth: 0 })}`);
  return `${header.join('\n')}\n${documents.join('')}`;
}

function list(items: KubeObject[]): KubeObject {
  return { apiVersion: 'v1', kind: 'List', items };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseVersionFlag(value: string): KubeVersion {
  const parsed = parseVersion(value);
  if (!parsed) throw new InvalidArgumentError('expected a Kubernetes version such as 1.35 or v1.35.2.');
  return parsed;
}
