import type * as Http from 'node:http';

/**
 * node:http through its CommonJS exports. An `import … from 'node:http'` builds the module's ESM namespace, which
 * reads every export, and reading the lazy `WebSocket`, `CloseEvent` and `MessageEvent` loads Node's bundled undici:
 * about 4.5 MiB of resident memory in a webhook that never uses them.
 */
export function nodeHttp(): typeof Http {
  return process.getBuiltinModule('node:http');
}
