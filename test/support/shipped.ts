/**
 * The V8 flags the server is shipped with. The benchmarks and the end-to-end server run it with them, as a cluster
 * does; the chart test checks that the image and the chart still say the same.
 */

/** The chart's NODE_OPTIONS: 4 MiB semi-spaces (see the Dockerfile). */
export const SHIPPED_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=4'];

/** The image's ENTRYPOINT: those, and no Maglev, which Node refuses in NODE_OPTIONS (see the Dockerfile). */
export const SHIPPED_NODE_FLAGS: readonly string[] = [...SHIPPED_NODE_OPTIONS, '--no-maglev'];
