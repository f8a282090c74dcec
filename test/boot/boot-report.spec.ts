import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { BootReportError, INLINE_FILE_LIMIT, hasCompleteReport, parseBootReport } from './boot-report.js';

function folded(data: Buffer): string[] {
  return data.toString('base64').match(/.{1,76}/g) ?? [];
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A serial log as a guest writes it: CRLF line ends, kernel noise and firmware escapes around the report. */
function serialLog(reportLines: string[]): string {
  const lines = [
    '\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001',
    '[    1.757784] Run /init as init process',
    '',
    '===BOOT-REPORT-BEGIN===',
    ...reportLines,
    '===BOOT-REPORT-END===',
    '[    1.879229] reboot: Power down',
  ];
  return lines.join('\r\n');
}

describe('parseBootReport', () => {
  it('decodes cmdline, Ignition, inline and digest-only files and nmstatectl', () => {
    const ignition = Buffer.from(JSON.stringify({ ignition: { version: '3.2.0' }, pad: 'x'.repeat(500) }));
    const small = Buffer.from('[connection]\nid=eth0\n');
    const big = randomBytes(INLINE_FILE_LIMIT + 1);
    const report = parseBootReport(
      serialLog([
        '===CMDLINE===',
        'BOOT_IMAGE=/images/pxeboot/vmlinuz console=ttyS0 coreos.liveiso=x',
        '===IGNITION===',
        ...folded(ignition),
        '===FILES===',
        `FILE ${small.length} ${sha256(small)} /etc/NetworkManager/system-connections/eth 0.nmconnection`,
        ...folded(small),
        `FILE ${big.length} ${sha256(big)} /etc/assisted/big.bin`,
        'FILE 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 /etc/assisted/empty',
        '===NMSTATECTL===',
        `PRESENT ${sha256(big)}`,
      ]),
    );
    expect(report.cmdline).toBe('BOOT_IMAGE=/images/pxeboot/vmlinuz console=ttyS0 coreos.liveiso=x');
    expect(report.ignition).toEqual(ignition);
    expect(report.files.get('/etc/NetworkManager/system-connections/eth 0.nmconnection')).toEqual(small);
    expect(report.files.get('/etc/assisted/big.bin')).toEqual({ size: big.length, sha256: sha256(big) });
    expect(report.files.get('/etc/assisted/empty')).toEqual(Buffer.alloc(0));
    expect(report.nmstatectlSha256).toBe(sha256(big));
  });

  it('reports absent Ignition and nmstatectl and no files', () => {
    const report = parseBootReport(
      serialLog(['===CMDLINE===', 'a=b', '===IGNITION===', 'ABSENT', '===FILES===', '===NMSTATECTL===', 'ABSENT']),
    );
    expect(report).toEqual({ cmdline: 'a=b', ignition: undefined, files: new Map(), nmstatectlSha256: undefined });
  });

  it('uses the last report when the guest printed more than one', () => {
    const first = serialLog([
      '===CMDLINE===',
      'first',
      '===IGNITION===',
      'ABSENT',
      '===FILES===',
      '===NMSTATECTL===',
      'ABSENT',
    ]);
    const second = first.replace('first', 'second');
    expect(parseBootReport(`${first}\r\n${second}`).cmdline).toBe('second');
  });

  it('rejects an incomplete report, garbled base64 and inline contents that miss their digest', () => {
    const base = ['===CMDLINE===', 'a', '===IGNITION===', 'ABSENT', '===FILES===', '===NMSTATECTL===', 'ABSENT'];
    const complete = serialLog(base);
    expect(hasCompleteReport(complete)).toBe(true);
    const truncated = complete.slice(0, complete.indexOf('===BOOT-REPORT-END==='));
    expect(hasCompleteReport(truncated)).toBe(false);
    expect(() => parseBootReport(truncated)).toThrow(BootReportError);
    const garbled = serialLog(base.map((line, i) => (i === 3 ? 'eyJh*nV9' : line)));
    expect(() => parseBootReport(garbled)).toThrow(/IGNITION: not base64/);
    const data = Buffer.from('hello');
    const mismatched = serialLog([
      ...base.slice(0, 5),
      `FILE 5 ${sha256(Buffer.from('other'))} /etc/assisted/a`,
      ...folded(data),
      ...base.slice(5),
    ]);
    expect(() => parseBootReport(mismatched)).toThrow(/do not match/);
    expect(() => parseBootReport(serialLog(base.filter((line) => line !== '===FILES===')))).toThrow(/FILES/);
  });
});
