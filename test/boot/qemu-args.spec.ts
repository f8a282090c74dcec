import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { findHostKernel } from './host-kernel.js';
import { BootRequestError, qemuArgs } from './qemu-args.js';

const ovmf = { code: '/fw/CODE.fd', vars: '/fw/VARS.fd' };

function option(args: string[], name: string): string[] {
  return args.flatMap((arg, i) => (arg === name ? [args[i + 1] ?? ''] : []));
}

describe('qemuArgs', () => {
  it('always uses TCG, no network, no display and the serial line on stdout', () => {
    const args = qemuArgs({ mode: 'bios-cdrom', image: '/x.iso' }, {});
    expect(option(args, '-accel')).toEqual(['tcg']);
    expect(args).not.toContain('kvm');
    expect(option(args, '-nic')).toEqual(['none']);
    expect(option(args, '-serial')).toEqual(['stdio']);
    expect(args).toContain('-no-reboot');
  });

  it('attaches the ISO read-only as a CD or a disk, with OVMF and a vars copy for UEFI', () => {
    const cd = qemuArgs({ mode: 'uefi-cdrom', image: '/a,b.iso' }, { ovmf, ovmfVarsCopy: '/tmp/v.fd' });
    expect(option(cd, '-drive')).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd',
      'if=pflash,format=raw,unit=1,file=/tmp/v.fd',
      'file=/a,,b.iso,format=raw,if=ide,media=cdrom,readonly=on',
    ]);
    const disk = qemuArgs({ mode: 'bios-disk', image: '/x.iso' }, {});
    expect(option(disk, '-drive')).toEqual(['file=/x.iso,format=raw,if=virtio,readonly=on']);
    expect(option(disk, '-boot')).toEqual(['order=c']);
  });

  it('attaches a URL as a CD through the curl driver, first in the boot order, without escaping its commas', () => {
    const url = 'http://127.0.0.1:8080/images/x?version=4.18&arch=x86_64&a=b,c';
    const args = qemuArgs(
      { mode: 'uefi-http-cdrom', url, readaheadBytes: 65_536 },
      { ovmf, ovmfVarsCopy: '/tmp/v.fd' },
    );
    const blockdevs = option(args, '-blockdev').map((json): unknown => JSON.parse(json));
    expect(blockdevs).toEqual([
      { driver: 'http', 'node-name': 'vmedia', url, 'read-only': true, timeout: 30, readahead: 65_536 },
    ]);
    expect(option(args, '-device')).toEqual(['ide-cd,drive=vmedia,bootindex=0']);
    expect(option(args, '-drive')).toHaveLength(2);
    const bios = qemuArgs({ mode: 'bios-http-cdrom', url }, {});
    expect(option(bios, '-blockdev').map((json): unknown => JSON.parse(json))).toEqual([
      { driver: 'http', 'node-name': 'vmedia', url, 'read-only': true, timeout: 30 },
    ]);
    expect(option(bios, '-drive')).toEqual([]);
  });

  it('boots a kernel directly with the given initrd and command line', () => {
    const args = qemuArgs({ mode: 'direct-kernel', initrd: '/i.img', append: 'a=b' }, { kernel: '/k' });
    expect([option(args, '-kernel'), option(args, '-initrd'), option(args, '-append')]).toEqual([
      ['/k'],
      ['/i.img'],
      ['a=b'],
    ]);
    expect(option(args, '-drive')).toEqual([]);
  });

  it('rejects requests that miss what their mode needs', () => {
    expect(() => qemuArgs({ mode: 'bios-disk' }, {})).toThrow(BootRequestError);
    expect(() => qemuArgs({ mode: 'uefi-disk', image: '/x.iso' }, {})).toThrow(/OVMF/);
    expect(() => qemuArgs({ mode: 'direct-kernel', initrd: '/i' }, {})).toThrow(/kernel/);
    expect(() => qemuArgs({ mode: 'direct-kernel' }, { kernel: '/k' })).toThrow(/initrd/);
    expect(() => qemuArgs({ mode: 'bios-http-cdrom', image: '/x.iso' }, {})).toThrow(/http:\/\/ URL/);
    expect(() => qemuArgs({ mode: 'bios-http-cdrom', url: 'https://h/x.iso' }, {})).toThrow(/http:\/\/ URL/);
    expect(() => qemuArgs({ mode: 'bios-http-cdrom', url: 'http://h/x.iso', readaheadBytes: 1000 }, {})).toThrow(
      /multiple of 512/,
    );
    expect(() => qemuArgs({ mode: 'uefi-http-cdrom', url: 'http://h/x.iso' }, {})).toThrow(/OVMF/);
  });
});

describe('findHostKernel', () => {
  it('picks the newest vmlinuz by version, not by string order', async () => {
    const boot = await mkdtemp(path.join(os.tmpdir(), 'host-kernel-'));
    try {
      expect(await findHostKernel(boot)).toBeUndefined();
      for (const version of ['6.1.0-9-amd64', '6.1.0-56-amd64', '5.10.0-30-amd64']) {
        await writeFile(path.join(boot, `vmlinuz-${version}`), '');
      }
      await writeFile(path.join(boot, 'config-6.1.0-99-amd64'), '');
      expect(await findHostKernel(boot)).toBe(path.join(boot, 'vmlinuz-6.1.0-56-amd64'));
    } finally {
      await rm(boot, { recursive: true, force: true });
    }
  });
});
