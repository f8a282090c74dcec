import { describe, expect, it } from '@jest/globals';
import { isServedOnPlainHttp } from './listeners.js';

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
