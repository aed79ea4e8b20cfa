/*
 * The entry point of `audit`'s worker threads (see src/audit/parallel.ts): the worker with every rule podpatterns
 * ships. Like the command's entry point, it keeps V8's compiled code on disk before loading the engine: a worker
 * starts in about two thirds of the time with it.
 */
import nodeModule from 'node:module';

nodeModule.enableCompileCache();
const [{ ALL_RULES }, { serveAuditWorker }] = await Promise.all([import('../rules/index.js'), import('../audit/worker.js')]);
serveAuditWorker(ALL_RULES);
