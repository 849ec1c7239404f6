import { jsonbSafe, MAX_STORED_BYTES, maskSecretValues, requestHash, storable } from './sanitize';

describe('execution parameters and results as stored', () => {
  it('masks the values of secret-looking keys at any depth, leaving the rest', () => {
    expect(
      maskSecretValues({
        message: 'hi',
        password: 'p',
        nested: { API_KEY: 'k', apiKey: 'k2', list: [{ access_token: 't' }, 'plain'] },
        Authorization: 'Bearer x',
        client_secret: 's',
        token_count: null,
      }),
    ).toEqual({
      message: 'hi',
      password: '***',
      nested: { API_KEY: '***', apiKey: '***', list: [{ access_token: '***' }, 'plain'] },
      Authorization: '***',
      client_secret: '***',
      token_count: null,
    });
  });

  it('masks what lies deeper than it looks (a request body may nest 128 levels): no secret left in clear', () => {
    let deep: unknown = { password: 'hunter2', note: 'x' };
    for (let i = 0; i < 100; i++) deep = { a: [deep] };
    const text = JSON.stringify(maskSecretValues(deep));
    expect(text).not.toContain('hunter2');
    expect(text).toContain('"a":[{"a":[{"a"');
  });

  it('keeps a value up to 64 KB serialized; a larger one becomes a text preview flagged truncated', () => {
    expect(storable({ a: 1 })).toEqual({ value: { a: 1 }, truncated: false });
    expect(storable(undefined)).toEqual({ value: null, truncated: false });
    const big = storable({ text: 'x'.repeat(MAX_STORED_BYTES) });
    expect(big.truncated).toBe(true);
    expect(typeof big.value).toBe('string');
    expect(Buffer.byteLength(big.value as string)).toBeLessThanOrEqual(MAX_STORED_BYTES);
    expect(storable({ password: 'y'.repeat(MAX_STORED_BYTES) })).toEqual({
      value: { password: '***' },
      truncated: false,
    });
  });

  it('hashes a request independently of key order, and tells other parameters apart', () => {
    const a = requestHash('t', 's', { x: 1, y: { b: 2, a: 1 } });
    expect(requestHash('t', 's', { y: { a: 1, b: 2 }, x: 1 })).toBe(a);
    expect(requestHash('t', 's', { x: 2, y: { a: 1, b: 2 } })).not.toBe(a);
    expect(requestHash('t', undefined, { x: 1, y: { a: 1, b: 2 } })).not.toBe(a);
    expect(requestHash('u', 's', { x: 1, y: { a: 1, b: 2 } })).not.toBe(a);
  });
});

describe('values PostgreSQL jsonb cannot hold', () => {
  it('stores NUL and lone surrogates (in values and keys, at any depth) as U+FFFD, and leaves the rest alone', () => {
    let deep: unknown = { 'k\u0000': 'v\u0000' };
    for (let i = 0; i < 50; i++) deep = { a: deep };
    const stored = storable({
      message: 'a\u0000b',
      lone: ['\ud800', 'x\udc00y'],
      pair: '\ud83d\ude00',
      escaped: '\\u0000 and \\\\u0000 as text',
      deep,
    });
    const text = JSON.stringify(stored.value);
    expect(text).not.toMatch(/(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i);
    expect(stored.value).toMatchObject({
      message: 'a\ufffdb',
      lone: ['\ufffd', 'x\ufffdy'],
      pair: '\ud83d\ude00',
      escaped: '\\u0000 and \\\\u0000 as text',
    });
    expect(text).toContain('{"k\ufffd":"v\ufffd"}');
    expect(stored.truncated).toBe(false);
    // a value without them is kept as it is (the same object)
    const plain = { message: 'hello \\u0000' };
    expect(storable(plain).value).toEqual(plain);
    expect(jsonbSafe(plain)).toBe(plain);
    // an error as recorded (no masking, no cap)
    expect(jsonbSafe({ code: 'INVALID_PARAMETERS', message: '/a\u0000b: must NOT be there' })).toEqual({
      code: 'INVALID_PARAMETERS',
      message: '/a\ufffdb: must NOT be there',
    });
  });
});
