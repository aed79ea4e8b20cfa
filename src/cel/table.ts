import { runsAtAdmission } from '../engine/scope.js';
import type { Rule } from '../engine/types.js';
import { compareVersions, formatVersion, NEWEST_KNOWN_VERSION, type KubeVersion } from '../model/version.js';
import type { Policy } from '../policy/policy.js';
import { compilePolicies, DEFAULT_RELEASE_NAMESPACE, VAP_SINCE } from './compile.js';

/**
 * The README's table of what each rule becomes in the API server, from the rules' own CEL forms: for every
 * Kubernetes minor from 1.30 to the newest known one (kubelets of the same version, the default policy), whether
 * it compiles, and why not where it does not.
 */
export function renderCelTable(rules: readonly Rule[], policy: Policy): string {
  const versions: KubeVersion[] = [];
  for (let minor = VAP_SINCE.minor; minor <= NEWEST_KNOWN_VERSION.minor; minor++) versions.push({ major: 1, minor });
  const compilations = versions.map((version) => ({
    version,
    compilation: compilePolicies(rules, policy, { kubernetesVersion: version, minKubeletVersion: version, mode: 'enforce', releaseNamespace: DEFAULT_RELEASE_NAMESPACE, excludedNamespaces: [] }),
  }));
  const rows = rules.map((rule) => {
    const compiledIn = compilations.filter(({ compilation }) => compilation.compiled.includes(rule.id)).map(({ version }) => version);
    const reasons = new Map<string, KubeVersion[]>();
    for (const { version, compilation } of compilations) {
      const skipped = compilation.skipped.find((entry) => entry.rule === rule.id);
      if (!skipped) continue;
      const key = `${skipped.why === 'not-needed' ? 'not needed: ' : ''}${skipped.reason}`;
      reasons.set(key, [...(reasons.get(key) ?? []), version]);
    }
    const where = !runsAtAdmission(rule) ? 'audits only' : compiledIn.length === 0 ? 'webhook only' : compiledIn.length === versions.length ? `CEL (${formatVersion(VAP_SINCE)}+)` : `CEL (${range(compiledIn)})`;
    const why = [...reasons].map(([reason, on]) => (on.length === versions.length ? reason : `${range(on)}: ${reason}`)).join('; ');
    return `| [\`${rule.id}\`](#${rule.id}) | ${where} | ${why.replaceAll('|', '\\|') || '—'} |`;
  });
  return ['| Rule | In the API server | Why not (where not) |', '| --- | --- | --- |', ...rows].join('\n');
}

/** `1.35+`, `1.30–1.33`, `1.34`: the versions as one range (they are consecutive minors). */
function range(versions: KubeVersion[]): string {
  const first = versions[0]!;
  const last = versions[versions.length - 1]!;
  if (compareVersions(last, NEWEST_KNOWN_VERSION) === 0 && versions.length > 1) return `${formatVersion(first)}+`;
  return versions.length === 1 ? formatVersion(first) : `${formatVersion(first)}–${formatVersion(last)}`;
}
