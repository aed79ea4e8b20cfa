import { describe, expect, it } from 'vitest';
import { MEMO_KEY_LIMIT, memoized } from '../../src/model/memo.js';
import { parseImage } from '../../src/model/image.js';
import { parseQuantity } from '../../src/model/resources.js';

describe('memoized', () => {
  it('computes each key once and hands every caller the same result', () => {
    const computed: string[] = [];
    const split = memoized((key: string) => {
      computed.push(key);
      return key.split(':');
    });
    const first = split('nginx:1.27');
    expect(split('nginx:1.27')).toBe(first);
    expect(split('envoy:1.31')).toEqual(['envoy', '1.31']);
    expect(computed).toEqual(['nginx:1.27', 'envoy:1.31']);
  });

  it('remembers an undefined result as a result', () => {
    let calls = 0;
    const none = memoized(() => {
      calls++;
      return undefined;
    });
    none('x');
    none('x');
    expect(calls).toBe(1);
  });

  it('starts afresh at its limit, and never keeps a key longer than the key limit', () => {
    const computed: string[] = [];
    const echo = memoized((key: string) => computed.push(key), 2);
    for (const key of ['a', 'b', 'c', 'a']) echo(key);
    expect(computed).toEqual(['a', 'b', 'c', 'a']);
    const long = 'x'.repeat(MEMO_KEY_LIMIT + 1);
    echo(long);
    echo(long);
    expect(computed.filter((key) => key === long)).toHaveLength(2);
  });
});

describe('the parsers that share results', () => {
  it('read the same reference or quantity the same way the second time', () => {
    for (let round = 0; round < 2; round++) {
      expect(parseImage(' registry.example.com:5000/team/app:1.2@sha256:abc ')).toEqual({
        repository: 'registry.example.com:5000/team/app',
        name: 'app',
        tag: '1.2',
        digest: 'sha256:abc',
      });
      expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
      expect(parseQuantity('12x')).toBeUndefined();
    }
  });
});
