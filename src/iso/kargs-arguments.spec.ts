import { describe, it, expect } from '@jest/globals';
import { assertValidKernelArgument, InvalidKernelArgumentsError, parseKernelArguments } from './kargs-arguments.js';

const append = (value: unknown): { operation: string; value: unknown } => ({ operation: 'append', value });
const json = (value: unknown): string => JSON.stringify(value);

describe('parseKernelArguments', () => {
  it('returns the appended values in order', () => {
    expect(parseKernelArguments(json([append('p1'), append('key=value')]))).toEqual(['p1', 'key=value']);
  });

  it.each([
    ['an empty array', '[]'],
    ['null', 'null'],
    ['an empty string', ''],
    ['whitespace', '  \n'],
  ])('treats %s as no arguments', (_name, input) => {
    expect(parseKernelArguments(input)).toEqual([]);
  });

  it.each([
    'rd.net.timeout.carrier=60',
    'isolcpus=1,2,10-20,100-2000:2/25',
    'quiet',
    'ip=192.168.1.10::192.168.1.1:255.255.255.0:host1:ens3:none',
    'ip=[fd00::10]::[fd00::1]:64:host1:ens3:none',
    'console=ttyS0,115200n8',
    'foo="a b"',
    '"foo=a b"',
    'coreos.inst.ignition_url="http://h/p?a=1&b=2;c"',
    'x=a#b',
    'x="#notacomment"',
    'x=~`!@%^*()-_+[]:,./?',
  ])('accepts %s', (value) => {
    expect(parseKernelArguments(json([append(value)]))).toEqual([value]);
  });

  const invalid: Array<[string, string, RegExp]> = [
    ['not JSON', '[{"operation":', /not valid JSON/],
    ['a JSON object', json(append('x')), /must be a JSON array/],
    ['a JSON string', json('quiet'), /must be a JSON array/],
    ['an item that is not an object', json(['quiet']), /kernel_arguments\[0\] is not an/],
    [
      'operation replace',
      json([append('a'), { operation: 'replace', value: 'x' }]),
      /kernel_arguments\[1\]: operation "replace".*only "append"/,
    ],
    ['operation delete', json([{ operation: 'delete', value: 'x' }]), /operation "delete"/],
    ['a missing operation', json([{ value: 'x' }]), /operation undefined/],
    ['a numeric value', json([append(5)]), /value must be a string/],
    ['a missing value', json([{ operation: 'append' }]), /value must be a string/],
    ['an empty value', json([append('')]), /is empty/],
    ['a newline', json([append('a\nb')]), /a newline/],
    ['a carriage return', json([append('a\rb')]), /a carriage return/],
    ['a NUL byte', json([append('a\u0000b')]), /a NUL byte/],
    ['a tab', json([append('a\tb')]), /a tab/],
    ['another control character', json([append('a\u001bb')]), /control character U\+001B/],
    ['DEL', json([append('a\u007fb')]), /control character U\+007F/],
    ['non-ASCII', json([append('name=Zoë')]), /non-ASCII/],
    ['a dollar sign', json([append('a=$root')]), /'\$'/],
    ['a dollar sign in quotes', json([append('a="$root"')]), /'\$'/],
    ['a backslash', json([append('a=b\\c')]), /'\\'/],
    ['a single quote', json([append("a='b c'")]), /single quote/],
    ['an unquoted space', json([append('a b')]), /space outside double quotes/],
    ['an unpaired double quote', json([append('a="b')]), /unpaired double quote/],
    ['an unquoted semicolon', json([append('a;reboot')]), /';'.*GRUB script operator/],
    ['an unquoted ampersand', json([append('url=http://h/?a=1&b=2')]), /'&'/],
    ['an unquoted pipe', json([append('a|b')]), /'\|'/],
    ['an unquoted brace', json([append('a}')]), /'\}'/],
    ['an unquoted angle bracket', json([append('a>b')]), /'>'/],
    ['a leading #', json([append('#comment')]), /starts with '#'/],
  ];

  it.each(invalid)('rejects %s', (_name, input, message) => {
    expect(() => parseKernelArguments(input)).toThrow(InvalidKernelArgumentsError);
    expect(() => parseKernelArguments(input)).toThrow(message);
  });
});

describe('assertValidKernelArgument', () => {
  it('accepts a plain argument and rejects a newline', () => {
    expect(() => assertValidKernelArgument('quiet')).not.toThrow();
    expect(() => assertValidKernelArgument('quiet\ninitrd /evil')).toThrow(InvalidKernelArgumentsError);
  });
});
