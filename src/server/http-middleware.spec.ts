import { describe, expect, it } from '@jest/globals';
import { originAllowed } from './http-middleware.js';

describe('originAllowed', () => {
  it.each([
    ['https://console.example.com', ['https://console.example.com'], true],
    ['https://console.example.com', ['https://console.example.com/'], true],
    ['http://console.example.com', ['https://console.example.com'], false],
    ['https://console.example.com:8443', ['https://console.example.com'], false],
    ['https://console.example.com:8443', ['console.example.com'], true],
    ['https://a.example.org', ['*.example.org'], true],
    ['https://deep.a.example.org', ['*.example.org'], true],
    ['https://example.org', ['*.example.org'], false],
    ['https://evil-example.org', ['*.example.org'], false],
    ['https://example.org.evil.com', ['example.org'], false],
    ['https://anything.test', ['*'], true],
    ['null', ['*.example.org'], false],
    ['https://CONSOLE.example.com', ['console.example.com'], true],
  ])('%s with %j → %s', (origin, allowed, expected) => {
    expect(originAllowed(origin, allowed)).toBe(expected);
  });
});
