import { CORPORA } from './corpus.js';

/**
 * Says once per run which reference material is missing, so skipped tests are never a surprise, and stops a run
 * whose environment names a directory that is not there (a skip there would hide what the run was asked to check).
 */
export default function checkCorpora(): void {
  const wrong = CORPORA.filter((corpus) => corpus.requested && !corpus.available);
  if (wrong.length > 0) {
    const problems = wrong.map((corpus) => `${corpus.variable} is set to ${corpus.dir}, which is not a directory: point it at ${corpus.description} or unset it`);
    throw new Error(problems.join('; '));
  }
  const missing = CORPORA.filter((corpus) => !corpus.available);
  if (missing.length === 0) return;
  const where = missing.map((corpus) => `${corpus.description} (${corpus.variable} unset, nothing at ${corpus.dir})`).join(' and ');
  console.log(`Skipping the tests that read ${where}: set ${missing.length > 1 ? 'the variables' : 'it'} to run them.`);
}
