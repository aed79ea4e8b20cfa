import type { ClusterAuditProgress } from '../audit/cluster.js';

/** How often the line is redrawn at most: fast enough to look alive, rare enough to cost nothing. */
const REDRAW_MS = 100;

/**
 * One line on a terminal, rewritten in place while a cluster audit runs (`\r` and erase-line), and erased
 * when it ends. Only for a TTY: redirected standard error never gets control characters.
 */
export class ProgressLine {
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly stream: { write(text: string): unknown; columns?: number }) {}

  update(progress: ClusterAuditProgress): void {
    const now = Date.now();
    if (now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const where = progress.namespace !== undefined ? `in ${progress.namespace}` : 'in all namespaces';
    const line = `podpatterns: listing ${progress.resource} ${where}… ${progress.read} objects read, ${progress.audited} audited`;
    this.stream.write(`\r\x1b[K${line.slice(0, Math.max((this.stream.columns ?? 80) - 1, 20))}`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
