#!/usr/bin/env node
/*
 * The command's entry point. It checks the Node.js version before anything else is loaded: on an older Node
 * the dependencies fail in their own ways (undici, under @kubernetes/client-node, throws "Cannot read
 * properties of undefined (reading 'bind')" on Node 20). So this file imports nothing but Node built-ins
 * until the check has passed.
 */
import nodeModule, { createRequire } from 'node:module';

const { engines } = createRequire(import.meta.url)('../../package.json') as { engines: { node: string } };
const minimum = engines.node.replace(/^>=\s*/, '');

/** True when dotted version `found` is older than `wanted` (both `major.minor.patch`). */
function olderThan(found: string, wanted: string): boolean {
  const a = found.split('.').map(Number);
  const b = wanted.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
}

if (olderThan(process.versions.node, minimum)) {
  process.stderr.write(`podpatterns: Node.js ${process.versions.node} is too old: podpatterns needs Node.js ${minimum} or newer\n`);
  process.exitCode = 2;
} else {
  // V8's compiled code for podpatterns and its dependencies is kept on disk (Node's cache in the temp directory),
  // so later runs start with less compiling. Without a writable cache it does nothing.
  nodeModule.enableCompileCache();
  const { main } = await import('./main.js');
  process.exitCode = await main(process.argv);
}
