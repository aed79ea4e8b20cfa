/** A Kubernetes minor version, as the rules compare them (patch levels never change a verdict). */
export interface KubeVersion {
  major: number;
  minor: number;
}

/** The newest Kubernetes minor podpatterns knows the behaviour of. */
export const NEWEST_KNOWN_VERSION: KubeVersion = { major: 1, minor: 37 };

const VERSION_PATTERN = /^v?(\d+)\.(\d+)(?:[.+-].*)?$/;

/** Parses "1.29", "v1.29.3", "v1.30.1-eks-1234" and the `+` suffixes of managed clusters. */
export function parseVersion(text: string): KubeVersion | undefined {
  const match = VERSION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

export function compareVersions(a: KubeVersion, b: KubeVersion): number {
  return a.major - b.major || a.minor - b.minor;
}

export function atLeast(version: KubeVersion, major: number, minor: number): boolean {
  return compareVersions(version, { major, minor }) >= 0;
}

export function formatVersion(version: KubeVersion): string {
  return `${version.major}.${version.minor}`;
}
