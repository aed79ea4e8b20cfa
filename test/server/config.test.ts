import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environmentVariableFor, resolveServerConfig } from '../../src/config/server-config.js';

describe('resolveServerConfig', () => {
  it('has production defaults and a development certificate when no TLS files are given', () => {
    const config = resolveServerConfig({}, {});
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 8443,
      metricsPort: 9090,
      tls: { kind: 'development', caFile: join(tmpdir(), 'podpatterns-dev-ca.pem') },
      cluster: { env: {}, refreshIntervalMs: 300_000 },
      logLevel: 'info',
      shutdownDelayMs: 5000,
    });
    expect(config.kubernetesVersion).toBeUndefined();
  });

  it('reads each flag from its PODPATTERNS_ variable, the flag winning', () => {
    expect(environmentVariableFor('--min-kubelet-version')).toBe('PODPATTERNS_MIN_KUBELET_VERSION');
    const env = { PODPATTERNS_PORT: '9443', PODPATTERNS_METRICS_PORT: '9100', PODPATTERNS_SHUTDOWN_DELAY: '1m30s', PODPATTERNS_KUBERNETES_VERSION: 'v1.29.3-eks-1' };
    const config = resolveServerConfig({ port: '10443' }, env);
    expect(config).toMatchObject({ port: 10443, metricsPort: 9100, shutdownDelayMs: 90_000, kubernetesVersion: { major: 1, minor: 29 } });
  });

  it('uses the TLS files, and hands the kubeconfig flags and the variables kubectl reads to the kubeconfig loader', () => {
    const env = { KUBECONFIG: '/a.yaml:/b.yaml', HOME: '/home/me', KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', PODPATTERNS_CONTEXT: 'prod', PATH: '/usr/bin' };
    const config = resolveServerConfig({ tlsCert: '/tls/tls.crt', tlsKey: '/tls/tls.key', kubeconfig: '/etc/kubeconfig' }, env);
    expect(config.tls).toEqual({ kind: 'files', certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
    expect(config.cluster).toEqual({
      kubeconfig: '/etc/kubeconfig',
      context: 'prod',
      env: { KUBECONFIG: '/a.yaml:/b.yaml', HOME: '/home/me', KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      refreshIntervalMs: 300_000,
    });
  });

  it('is frozen', () => {
    const config = resolveServerConfig({}, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.cluster)).toBe(true);
  });

  it.each([
    [{ port: 'https' }, {}, '--port "https": must be a port number from 0 to 65535 (0 picks a free port)'],
    [{}, { PODPATTERNS_METRICS_PORT: '70000' }, '--metrics-port (from PODPATTERNS_METRICS_PORT="70000"): must be a port number'],
    [{ port: '9090' }, {}, '--metrics-port: must differ from --port (9090)'],
    [{ tlsCert: '/tls.crt' }, {}, '--tls-key: is required with --tls-cert'],
    [{ shutdownDelay: 'soon' }, {}, '--shutdown-delay "soon": must be a duration such as 500ms, 5s, 2m or 1h'],
    [{ kubernetesVersion: 'latest' }, {}, '--kubernetes-version "latest": must be a Kubernetes version such as 1.29 or v1.29.3'],
    [{ kubernetesVersion: '1.29', minKubeletVersion: '1.30' }, {}, '--min-kubelet-version "1.30": is newer than --kubernetes-version 1.29'],
    [{ logLevel: 'verbose' }, {}, '--log-level "verbose": must be one of trace, debug, info, warn, error, fatal, silent'],
    [{ reloadInterval: '10ms' }, {}, '--reload-interval "10ms": must be at least 100ms'],
    [{ kubeconfig: '' }, {}, '--kubeconfig "": must not be empty'],
    [{}, { PODPATTERNS_KUBECONFIG: ' ' }, '--kubeconfig (from PODPATTERNS_KUBECONFIG=" "): must not be empty'],
  ])('rejects %j %j naming the flag', (flags, env, message) => {
    expect(() => resolveServerConfig(flags, env)).toThrow(message);
  });
});
