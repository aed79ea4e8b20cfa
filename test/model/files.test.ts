import { describe, expect, it } from 'vitest';
import { fileUseOf, normalisePath } from '../../src/model/files.js';
import type { Container } from '../../src/model/kube.js';

const shell = (script: string, extra: Partial<Container> = {}): Container => ({ name: 'c', image: 'busybox:1.37.0', command: ['sh', '-c', script], ...extra });

describe('fileUseOf', () => {
  it('tells reading commands from writing ones, by directory and every directory above it', () => {
    const use = fileUseOf(shell('tail -n+1 -F /var/log/app/app.log | grep ERROR; echo done >> /var/log/out/result; cat < /etc/app/app.conf'));
    expect(use.under('/var/log/app')).toEqual({ reads: true, writes: false, unknown: false });
    expect(use.under('/var/log/app/app.log')).toEqual({ reads: true, writes: false, unknown: false });
    expect(use.under('/var/log/out')).toEqual({ reads: false, writes: true, unknown: false });
    expect(use.under('/var/log')).toEqual({ reads: true, writes: true, unknown: false });
    expect(use.under('/etc/app/')).toEqual({ reads: true, writes: false, unknown: false });
    expect(use.under('/srv')).toBeUndefined();
  });

  it('reads copies from their sources into their last path, and sed -i, tee, rm and mkdir write', () => {
    const use = fileUseOf(shell('cp -r /seed/a /seed/b /work/; sed -i s/a/b/ /cfg/x.conf; sed -n 1p /docs/readme; echo x | tee -a /log/y; rm -rf /junk/*; mkdir -p /made/dir'));
    expect(use.under('/seed')).toMatchObject({ reads: true, writes: false });
    expect(use.under('/work')).toMatchObject({ reads: false, writes: true });
    expect(use.under('/cfg')).toMatchObject({ writes: true });
    expect(use.under('/docs')).toEqual({ reads: true, writes: false, unknown: false });
    expect(use.under('/log')).toMatchObject({ writes: true });
    expect(use.under('/junk')).toMatchObject({ writes: true });
    expect(use.under('/made')).toMatchObject({ writes: true });
  });

  it('does not count printed paths, touch or timestamps as writes, and a program given a path as unknown', () => {
    const use = fileUseOf(shell('echo /data/x; touch /data/ready; redis-server /data/conf/redis.conf --dir=/state'));
    expect(use.under('/data')).toEqual({ reads: false, writes: false, unknown: true });
    expect(use.under('/state')).toEqual({ reads: false, writes: false, unknown: true });
    expect(fileUseOf(shell('echo /only/printed; touch /only/ready')).under('/only')).toBeUndefined();
  });

  it('finds redirections before the command, after a command substitution and with a file descriptor', () => {
    const use = fileUseOf(shell('echo "$(date) tick" >> /a/log; > /b/empty true; run 2>/c/err; x &>/d/all'));
    for (const directory of ['/a', '/b', '/c', '/d']) expect(use.under(directory), directory).toMatchObject({ writes: true });
  });

  it('reads a program run from a directory, and skips assignments and keywords before the command word', () => {
    const use = fileUseOf({ name: 'c', command: ['/etc/reloader/reload.sh'], args: [] });
    expect(use.under('/etc/reloader')).toEqual({ reads: true, writes: false, unknown: false });
    const loop = fileUseOf(shell('while true; do LEVEL=debug exec cat /in/file; done'));
    expect(loop.under('/in')).toEqual({ reads: true, writes: false, unknown: false });
  });

  it('reads args without a shell as one command: the image entrypoint is unknown', () => {
    const use = fileUseOf({ name: 'c', args: ['--config.file=/etc/loki/config.yaml', '--data=/var/loki'] });
    expect(use.under('/etc/loki')).toMatchObject({ unknown: true });
    expect(use.under('/var/loki')).toMatchObject({ unknown: true });
  });

  it('finds Unix sockets in the command, args and env, by unix:// address or .sock name', () => {
    const use = fileUseOf({
      name: 'c',
      args: ['--endpoint=unix:///csi/csi.sock', '--registration=/registration/plugin.socket'],
      env: [{ name: 'ADDRESS', value: 'unix:/run/agent/api' }, { name: 'OTHER', value: '/data/file.sockets' }],
    });
    for (const directory of ['/csi', '/csi/csi.sock', '/registration', '/run/agent', '/run/agent/api']) expect(use.socketUnder(directory), directory).toBe(true);
    expect(use.socketUnder('/data')).toBe(false);
    expect(use.socketUnder('/')).toBe(false);
  });

  it('normalises paths and ignores what is not an absolute path of a sane length', () => {
    expect(normalisePath('/var//log/./app/')).toBe('/var/log/app');
    expect(normalisePath('relative/path')).toBe('');
    expect(normalisePath('/')).toBe('');
    expect(normalisePath(`/${'a'.repeat(5000)}`)).toBe('');
  });
});
