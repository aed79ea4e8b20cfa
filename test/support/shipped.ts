/**
 * The V8 flags the server is shipped with: the image's ENTRYPOINT and the chart's NODE_OPTIONS (4 MiB
 * semi-spaces, see the Dockerfile). The benchmarks and the end-to-end server run it with them, as a cluster
 * does; the chart test checks that the image and the chart still say the same.
 */
export const SHIPPED_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=4'];
