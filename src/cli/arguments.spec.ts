import { commaList, parseKeyValues, positiveInt, typedValue } from './arguments';
import { CliError, ExitCode } from './exit-codes';

const usageError = (run: () => unknown, message: string | RegExp) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.usage);
    expect((error as CliError).message).toMatch(message);
    return;
  }
  throw new Error('expected a usage error');
};

describe('typedValue', () => {
  it.each([
    ['42', 42],
    ['-3.5', -3.5],
    ['1e3', 1000],
    ['0', 0],
    ['true', true],
    ['false', false],
    ['null', null],
    ['{"a":[1,2]}', { a: [1, 2] }],
    ['[1,"x"]', [1, 'x']],
    ['"42"', '42'],
    ['hello world', 'hello world'],
    ['007', '007'],
    ['1.', '1.'],
    ['True', 'True'],
    ['', ''],
  ])('reads %j as %j', (raw, expected) => {
    expect(typedValue(raw)).toEqual(expected);
  });

  it('refuses a value that starts like JSON but is not', () => {
    usageError(() => typedValue('{oops'), 'not valid JSON: {oops');
  });
});

describe('parseKeyValues', () => {
  it('builds the arguments object, splitting at the first =', () => {
    expect(parseKeyValues(['a=2', 'b=40', 'query=x=y', 'flag=true', 'empty='])).toEqual({
      a: 2,
      b: 40,
      query: 'x=y',
      flag: true,
      empty: '',
    });
  });

  it('refuses a pair without =, an empty key and a key given twice', () => {
    usageError(() => parseKeyValues(['message']), 'expected key=value, got "message"');
    usageError(() => parseKeyValues(['=1']), 'expected key=value');
    usageError(() => parseKeyValues(['a=1', 'a=2']), '"a" is given twice');
  });

  it('keeps keys that are Object.prototype names as plain data', () => {
    expect(parseKeyValues(['constructor=1', '__proto__=2'])).toEqual(JSON.parse('{"constructor":1,"__proto__":2}'));
  });
});

describe('option helpers', () => {
  it('splits comma lists, dropping blanks', () => {
    expect(commaList('mcp:read, mcp:write,,')).toEqual(['mcp:read', 'mcp:write']);
    expect(commaList(undefined)).toBeUndefined();
  });

  it('accepts positive integers only', () => {
    expect(positiveInt('--limit')('20')).toBe(20);
    usageError(() => positiveInt('--limit')('0'), '--limit must be a positive integer, got "0"');
    usageError(() => positiveInt('--limit')('2.5'), '--limit');
  });
});
