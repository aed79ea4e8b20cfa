import { parseVersion, type KubeVersion } from '../model/version.js';

/** Where a setting came from, so an error can name what the user has to change. */
export interface SettingSource {
  flag: string;
  env: string;
  /** The raw text given, undefined when neither the flag nor the variable was set. */
  raw: string | undefined;
  fromEnv: boolean;
}

export type Problem = (source: SettingSource, problem: string) => never;

export function parsePort(source: SettingSource, fallback: number, fail: Problem): number {
  if (source.raw === undefined) return fallback;
  const port = Number(source.raw);
  if (!/^\d+$/.test(source.raw.trim()) || !Number.isInteger(port) || port > 65_535) {
    return fail(source, 'must be a port number from 0 to 65535 (0 picks a free port)');
  }
  return port;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `5s`, `2m`, `1h`, combinations such as `1m30s` (Go's time.ParseDuration style), or bare seconds. */
export function parseDuration(source: SettingSource, fallbackMs: number, fail: Problem, minimumMs = 0): number {
  if (source.raw === undefined) return fallbackMs;
  const text = source.raw.trim();
  let milliseconds: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    milliseconds = Number(text) * 1000;
  } else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) {
    milliseconds = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
      milliseconds += Number(amount) * DURATION_UNITS[unit!]!;
    }
  } else {
    return fail(source, 'must be a duration such as 500ms, 5s, 2m or 1h');
  }
  if (milliseconds < minimumMs) return fail(source, `must be at least ${minimumMs}ms`);
  return Math.round(milliseconds);
}

export function parseKubeVersion(source: SettingSource, fail: Problem): KubeVersion | undefined {
  if (source.raw === undefined || source.raw.trim() === '') return undefined;
  const version = parseVersion(source.raw);
  if (!version || version.major < 1) return fail(source, 'must be a Kubernetes version such as 1.29 or v1.29.3');
  return version;
}

export function parseChoice<T extends string>(source: SettingSource, choices: readonly T[], fallback: T, fail: Problem): T {
  if (source.raw === undefined) return fallback;
  const value = source.raw.trim().toLowerCase() as T;
  if (!choices.includes(value)) return fail(source, `must be one of ${choices.join(', ')}`);
  return value;
}

export function parseText(source: SettingSource, fail: Problem): string | undefined {
  if (source.raw === undefined) return undefined;
  const text = source.raw.trim();
  if (text === '') return fail(source, 'must not be empty');
  return text;
}

/** `a,b, c` → `['a', 'b', 'c']`: comma-separated, blanks dropped, duplicates kept once. */
export function parseList(source: SettingSource): string[] {
  if (source.raw === undefined) return [];
  return [...new Set(source.raw.split(',').map((item) => item.trim()).filter((item) => item !== ''))];
}
