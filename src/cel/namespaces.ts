/** The namespace the chart is usually installed in; compiled policies leave it alone like the webhook does. */
export const DEFAULT_RELEASE_NAMESPACE = 'podpatterns';

/** Namespaces no compiled policy applies to, whatever the options say (the chart excludes it too). */
export const ALWAYS_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system'];
