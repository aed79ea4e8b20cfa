import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

type YamlPackage = typeof Yaml;

let loaded: YamlPackage | undefined;

/**
 * The `yaml` package (the parser that keeps every node's source range), loaded on first use. Manifests are read
 * with js-yaml; `yaml` serves the policy file, the rare manifest js-yaml refuses and some outputs, and loading its
 * ~70 modules up front would cost every `audit` of a few files a quarter of its start-up.
 */
export function yamlPackage(): YamlPackage {
  return (loaded ??= createRequire(import.meta.url)('yaml') as YamlPackage);
}
