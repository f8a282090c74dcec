import { describe, expect, it } from '@jest/globals';
import { originAllowed } from './cors.js';
import { isServedOnPlainHttp } from './plain-http-gate.js';

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

describe('isServedOnPlainHttp', () => {
  it.each([
    ['/images/abc/pxe-initrd?version=4.18', true],
    ['/images/abc/pxe-initrd/', true],
    ['/IMAGES/abc/PXE-INITRD', true],
    ['/boot-artifacts/rootfs?version=1', true],
    ['/health', true],
    ['/metrics', true],
    ['/live?x=1', true],
    ['/images/abc', false],
    ['/images/abc/s390x-initrd-addrsize', false],
    ['/images/abc/pxe-initrd/extra', false],
    ['/byid/a/4.18/x86_64/full.iso', false],
    ['/docs', false],
    ['/health/../images/abc', false],
  ])('%s → %s', (url, expected) => {
    expect(isServedOnPlainHttp(url)).toBe(expected);
  });
});
