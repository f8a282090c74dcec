import { describe, it, expect } from '@jest/globals';
import { xorrisoArgs, xorrisoProblems } from './minimal-template.js';

describe('xorrisoProblems', () => {
  it('picks the problem lines out of the noise', () => {
    const stderr = [
      'xorriso : NOTE : Loading ISO image tree from LBA 0',
      'xorriso : UPDATE : 21 nodes read',
      "xorriso : FAILURE : While grafting '/images/nmstate.img' : file object exists",
      'xorriso : NOTE : done',
    ].join('\n');
    expect(xorrisoProblems(stderr)).toBe(
      "xorriso : FAILURE : While grafting '/images/nmstate.img' : file object exists",
    );
  });

  it('falls back to the last lines', () => {
    expect(xorrisoProblems('one\ntwo\nthree\n', 2)).toBe('two | three');
  });
});

describe('xorrisoArgs', () => {
  it('removes, maps and sets modes in one run, Joliet only when the source had it', () => {
    const plan = { joliet: false, remove: ['images/pxeboot/rootfs.img'], files: [] };
    const staged = [
      { diskPath: '/w/file-0', isoPath: 'EFI/redhat/grub.cfg', mode: 0o444 },
      { diskPath: '/w/file-1', isoPath: 'images/a.img', mode: 0o644 },
    ];
    const args = xorrisoArgs({ sourceIso: '/d/full.iso', targetIso: '/d/.t.tmp', plan, staged });
    const joined = args.join(' ');
    expect(joined).toContain('-indev stdio:/d/full.iso -outdev stdio:/d/.t.tmp -boot_image any replay');
    expect(joined).toContain('-rm /images/pxeboot/rootfs.img --');
    expect(joined).toContain('-map /w/file-0 /EFI/redhat/grub.cfg -map /w/file-1 /images/a.img');
    expect(joined).toContain('-chmod 0444 /EFI/redhat/grub.cfg -- -chmod 0644 /images/a.img --');
    expect(args).not.toContain('-joliet');
    expect(args.at(-1)).toBe('-commit');
    expect(xorrisoArgs({ sourceIso: 'a', targetIso: 'b', plan: { ...plan, joliet: true }, staged })).toContain(
      '-joliet',
    );
  });
});
