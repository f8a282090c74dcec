import { describe, it, expect } from '@jest/globals';
import { deploymentNmstatectlPath, parseLsEntries, pickNmstatectlPath } from './nmstate.js';

describe('pickNmstatectlPath', () => {
  it('prefers /usr/bin over an ostree deployment, whatever the listing order', () => {
    const deployed = '/ostree/deploy/rhcos/deploy/aaa.0/usr/bin/nmstatectl';
    expect(pickNmstatectlPath([deployed, '/usr/bin/nmstatectl'])).toBe('/usr/bin/nmstatectl');
    expect(pickNmstatectlPath(['/usr/bin/nmstatectl', deployed])).toBe('/usr/bin/nmstatectl');
  });

  it('takes the first deployment by name when only deployments hold it', () => {
    const listing = [
      '/ostree/deploy/rhcos/deploy/bbb.0/usr/bin/nmstatectl',
      '/ostree/deploy/rhcos/deploy/aaa.0/usr/bin/nmstatectl',
    ];
    expect(pickNmstatectlPath(listing)).toBe('/ostree/deploy/rhcos/deploy/aaa.0/usr/bin/nmstatectl');
  });

  it('ignores names that only contain "nmstatectl" and accepts listings without a leading slash', () => {
    const listing = [
      'usr/share/man/man8/nmstatectl.8.gz',
      'usr/libexec/nmstatectl-helper',
      'usr/bin/nmstatectl.bak',
      'squashfs-root',
      '',
    ];
    expect(pickNmstatectlPath(listing)).toBeUndefined();
    expect(pickNmstatectlPath(['usr/sbin/nmstatectl'])).toBe('/usr/sbin/nmstatectl');
  });

  it('builds the deployment path the EROFS probe checks', () => {
    expect(deploymentNmstatectlPath('rhcos', 'abc.0')).toBe('/ostree/deploy/rhcos/deploy/abc.0/usr/bin/nmstatectl');
  });
});

describe('parseLsEntries', () => {
  it('reads the NID TYPE FILENAME table after the inode details', () => {
    const output = [
      'File : /ostree/deploy',
      'Size: 42  On-disk size: 42  directory',
      'NID: 36   Links: 3   Layout: 2',
      '',
      '       NID TYPE  FILENAME',
      '        36    2  .',
      '        30    2  ..',
      '        40    2  rhcos',
      '        41    1  a file with spaces',
      '',
    ].join('\n');
    expect(parseLsEntries(output)).toEqual([
      { type: 2, name: '.' },
      { type: 2, name: '..' },
      { type: 2, name: 'rhcos' },
      { type: 1, name: 'a file with spaces' },
    ]);
  });

  it('returns nothing when dump.erofs printed no table (missing path)', () => {
    expect(parseLsEntries('')).toEqual([]);
  });
});
