import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeCertificates, type CertificateFiles } from '../../test/support/certificates.js';
import { ConfigError } from './config.error.js';
import { DEFAULT_CATALOG } from './default-catalog.js';
import { loadConfig, type Environment } from './load-config.js';

const ISO = 'https://mirror.example.com/rhcos-4.14-x86_64-live.iso';
const ENTRY = { openshift_version: '4.14', cpu_architecture: 'x86_64', url: ISO, version: '414.92.202310170514-0' };

let dir: string;
let certs: CertificateFiles;
let otherCerts: CertificateFiles;
let notPem: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-spec-'));
  certs = await makeCertificates(dir, 'a');
  otherCerts = await makeCertificates(dir, 'b');
  notPem = join(dir, 'not-a-certificate.txt');
  await writeFile(notPem, 'hello\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function failure(env: Environment): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it('starts with an empty environment using the documented defaults', () => {
    const config = loadConfig({});
    expect(config.server.listenPort).toBe(8080);
    expect(config.server.httpListenPort).toBeUndefined();
    expect(config.server.tls).toBeUndefined();
    expect(config.server.maxConcurrentRequests).toBe(400);
    expect(config.server.maxQueuedRequests).toBe(400);
    expect(config.server.maxQueueWaitSeconds).toBe(30);
    expect(config.server.downloadStallSeconds).toBe(120);
    expect(config.storage.toolTimeoutSeconds).toBe(600);
    expect(config.server.allowedDomains).toEqual([]);
    expect(config.storage.dataDir).toBe(resolve('./data'));
    // The parent of the private scratch directory the service makes with mkdtemp: no predictable name in a shared /tmp.
    expect(config.storage.dataTempDir).toBe(resolve(tmpdir()));
    expect(config.catalog.source).toBe('built-in default');
    expect(config.catalog.entries).toEqual(DEFAULT_CATALOG);
    expect(config.imageSource.insecureSkipVerify).toBe(false);
    expect(config.imageSource.requestHeaders).toEqual({});
    expect(config.assistedService.baseUrl).toBeUndefined();
    expect(config.assistedService.customizationCacheTtlSeconds).toBe(30);
    expect(config.logging.level).toBe('info');
  });

  it('treats blank values as unset, as Kubernetes manifests often set them', () => {
    const config = loadConfig({ LISTEN_PORT: '', LOG_LEVEL: '  ', RHCOS_VERSIONS: '' });
    expect(config.server.listenPort).toBe(8080);
    expect(config.logging.level).toBe('info');
    expect(config.catalog.source).toBe('built-in default');
  });
});

interface VariableCase {
  variable: string;
  good: [string, (config: ReturnType<typeof loadConfig>) => unknown, unknown][];
  bad: string[];
  /** Other variables set alongside, for variables that only make sense with a partner. */
  extra?: Environment;
}

const portCases = (variable: string, read: (c: ReturnType<typeof loadConfig>) => unknown): VariableCase => ({
  variable,
  good: [
    ['9000', read, 9000],
    [' 1 ', read, 1],
    ['65535', read, 65535],
  ],
  bad: ['abc', '0', '65536', '-1', '80.5', '8080x'],
});

const variableCases = (): VariableCase[] => [
  portCases('LISTEN_PORT', (c) => c.server.listenPort),
  portCases('PORT', (c) => c.server.listenPort),
  portCases('HTTP_LISTEN_PORT', (c) => c.server.httpListenPort),
  {
    variable: 'ASSISTED_SERVICE_HOST',
    good: [
      ['assisted.example.com:8090', (c) => c.assistedService.baseUrl, 'http://assisted.example.com:8090'],
      ['[::1]:8090', (c) => c.assistedService.baseUrl, 'http://[::1]:8090'],
    ],
    bad: ['assisted/api', 'http://assisted', 'a b'],
  },
  {
    variable: 'DATA_DIR',
    extra: { DATA_TEMP_DIR: '/scratch' },
    good: [
      ['/srv/images', (c) => c.storage.dataDir, '/srv/images'],
      ['rel/dir', (c) => c.storage.dataDir, resolve('rel/dir')],
    ],
    bad: ['/etc/passwd'],
  },
  {
    variable: 'DATA_TEMP_DIR',
    good: [['/scratch/x', (c) => c.storage.dataTempDir, '/scratch/x']],
    bad: [resolve('./data/tmp'), '/etc/passwd'],
  },
  {
    variable: 'ASSISTED_SERVICE_URL',
    good: [
      ['https://assisted.example.com:8090/', (c) => c.assistedService.baseUrl, 'https://assisted.example.com:8090'],
    ],
    bad: ['assisted:8090', 'ftp://assisted', 'not a url'],
  },
  {
    variable: 'ASSISTED_SERVICE_SCHEME',
    extra: { ASSISTED_SERVICE_HOST: 'assisted:8090' },
    good: [
      ['HTTPS', (c) => c.assistedService.baseUrl, 'https://assisted:8090'],
      ['http', (c) => c.assistedService.baseUrl, 'http://assisted:8090'],
    ],
    bad: ['gopher'],
  },
  {
    variable: 'IMAGE_SERVICE_BASE_URL',
    good: [['https://images.example.com/', (c) => c.server.publicBaseUrl, 'https://images.example.com']],
    bad: ['images.example.com', 'https://images.example.com/$x', 'https://images.example.com/a\\b'],
  },
  {
    variable: 'INSECURE_SKIP_VERIFY',
    good: [
      ['true', (c) => c.imageSource.insecureSkipVerify, true],
      ['FALSE', (c) => c.imageSource.insecureSkipVerify, false],
      ['1', (c) => c.imageSource.insecureSkipVerify, true],
    ],
    bad: ['maybe', '2'],
  },
  {
    variable: 'OS_IMAGES_REQUEST_HEADERS',
    good: [['{"Authorization":"Bearer x"}', (c) => c.imageSource.requestHeaders, { Authorization: 'Bearer x' }]],
    bad: ['{"a":1}', '["a"]', '{not json', '"text"'],
  },
  {
    variable: 'OS_IMAGES_REQUEST_QUERY_PARAMS',
    good: [['{"token":"abc"}', (c) => c.imageSource.requestQueryParams, { token: 'abc' }]],
    bad: ['{"a":{"b":"c"}}', 'null-ish'],
  },
  {
    variable: 'ALLOWED_DOMAINS',
    good: [
      [
        'https://console.example.com, *.example.org ,*',
        (c) => c.server.allowedDomains,
        ['https://console.example.com', '*.example.org', '*'],
      ],
    ],
    bad: ['https://a.example.com/path', 'not a domain!'],
  },
  {
    variable: 'MAX_CONCURRENT_REQUESTS',
    good: [
      ['10', (c) => c.server.maxConcurrentRequests, 10],
      ['0', (c) => c.server.maxConcurrentRequests, 0],
    ],
    bad: ['-5', 'many', '1.5'],
  },
  {
    variable: 'MAX_QUEUED_REQUESTS',
    good: [
      ['7', (c) => c.server.maxQueuedRequests, 7],
      ['0', (c) => c.server.maxQueuedRequests, 0],
    ],
    bad: ['-1', 'lots', '2.5'],
  },
  {
    variable: 'MAX_QUEUE_WAIT_SECONDS',
    good: [['5', (c) => c.server.maxQueueWaitSeconds, 5]],
    bad: ['0', '-3', 'forever', '3601'],
  },
  {
    variable: 'DOWNLOAD_STALL_SECONDS',
    good: [['45', (c) => c.server.downloadStallSeconds, 45]],
    bad: ['0', 'never', '86401'],
  },
  {
    variable: 'TOOL_TIMEOUT_SECONDS',
    good: [['90', (c) => c.storage.toolTimeoutSeconds, 90]],
    bad: ['0', '1e3', '86401'],
  },
  {
    variable: 'CUSTOMIZATION_CACHE_TTL_SECONDS',
    good: [
      ['0', (c) => c.assistedService.customizationCacheTtlSeconds, 0],
      ['120', (c) => c.assistedService.customizationCacheTtlSeconds, 120],
    ],
    bad: ['-1', 'soon', '86401'],
  },
  {
    variable: 'LOG_LEVEL',
    good: [
      ['DEBUG', (c) => c.logging.level, 'debug'],
      ['warn', (c) => c.logging.level, 'warn'],
    ],
    bad: ['verbose', 'trace'],
  },
  {
    variable: 'LOGLEVEL',
    good: [['error', (c) => c.logging.level, 'error']],
    bad: ['loud'],
  },
];

describe.each(variableCases())('$variable', ({ variable, good, bad, extra }) => {
  it.each(good)('parses %j', (value, read, expected) => {
    expect(read(loadConfig({ ...extra, [variable]: value }))).toEqual(expected);
  });
  it.each(bad.map((value) => [value]))('refuses %j naming the variable', (value) => {
    const error = failure({ ...extra, [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).not.toContain('\n');
  });
});

describe('files and TLS', () => {
  it('reads both trusted CA variables and the old HTTPS_CA_FILE name', () => {
    const config = loadConfig({
      ASSISTED_SERVICE_API_TRUSTED_CA_FILE: certs.caFile,
      OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE: otherCerts.caFile,
    });
    expect(config.assistedService.trustedCaPem).toBe(certs.caPem);
    expect(config.imageSource.trustedCaPem).toBe(otherCerts.caPem);
    expect(loadConfig({ HTTPS_CA_FILE: certs.caFile }).assistedService.trustedCaPem).toBe(certs.caPem);
  });

  it.each([
    ['ASSISTED_SERVICE_API_TRUSTED_CA_FILE', 'ASSISTED_SERVICE_API_TRUSTED_CA_FILE'],
    ['HTTPS_CA_FILE', 'HTTPS_CA_FILE'],
    ['OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE', 'OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE'],
  ])('%s: a missing file or a file without a certificate is named', (variable, named) => {
    expect(failure({ [variable]: join(dir, 'missing.pem') }).variable).toBe(named);
    expect(failure({ [variable]: notPem }).message).toMatch(new RegExp(`^${named}: .*no PEM certificate`));
  });

  it('accepts a matching certificate and key', () => {
    expect(loadConfig({ HTTPS_CERT_FILE: certs.certFile, HTTPS_KEY_FILE: certs.keyFile }).server.tls).toEqual({
      certFile: certs.certFile,
      keyFile: certs.keyFile,
    });
  });

  it('refuses half a TLS pair, missing files, non-PEM files and a key of another certificate', () => {
    expect(failure({ HTTPS_CERT_FILE: certs.certFile }).variable).toBe('HTTPS_KEY_FILE');
    expect(failure({ HTTPS_KEY_FILE: certs.keyFile }).variable).toBe('HTTPS_CERT_FILE');
    expect(failure({ HTTPS_CERT_FILE: join(dir, 'nope.pem'), HTTPS_KEY_FILE: certs.keyFile }).variable).toBe(
      'HTTPS_CERT_FILE',
    );
    expect(failure({ HTTPS_CERT_FILE: certs.certFile, HTTPS_KEY_FILE: join(dir, 'nope.key') }).variable).toBe(
      'HTTPS_KEY_FILE',
    );
    expect(failure({ HTTPS_CERT_FILE: notPem, HTTPS_KEY_FILE: certs.keyFile }).variable).toBe('HTTPS_CERT_FILE');
    expect(failure({ HTTPS_CERT_FILE: certs.certFile, HTTPS_KEY_FILE: notPem }).variable).toBe('HTTPS_KEY_FILE');
    expect(failure({ HTTPS_CERT_FILE: certs.certFile, HTTPS_KEY_FILE: otherCerts.keyFile }).message).toMatch(
      /^HTTPS_KEY_FILE: .*does not match/,
    );
  });
});

describe('aliases and cross-checks', () => {
  it('prefers LISTEN_PORT over PORT and names the variable that was used', () => {
    expect(loadConfig({ LISTEN_PORT: '9001', PORT: '9002' }).server.listenPort).toBe(9001);
    expect(failure({ PORT: 'x' }).variable).toBe('PORT');
  });

  it('prefers LOG_LEVEL over LOGLEVEL', () => {
    expect(loadConfig({ LOG_LEVEL: 'warn', LOGLEVEL: 'debug' }).logging.level).toBe('warn');
  });

  it('builds the assisted-service URL from scheme and host, ASSISTED_SERVICE_URL winning', () => {
    expect(
      loadConfig({ ASSISTED_SERVICE_SCHEME: 'https', ASSISTED_SERVICE_HOST: 'assisted:8090' }).assistedService.baseUrl,
    ).toBe('https://assisted:8090');
    expect(loadConfig({ ASSISTED_SERVICE_HOST: 'assisted' }).assistedService.baseUrl).toBe('http://assisted');
    expect(loadConfig({ ASSISTED_SERVICE_URL: 'http://a:1', ASSISTED_SERVICE_HOST: 'b' }).assistedService.baseUrl).toBe(
      'http://a:1',
    );
    expect(failure({ ASSISTED_SERVICE_SCHEME: 'https' }).variable).toBe('ASSISTED_SERVICE_HOST');
    expect(failure({ ASSISTED_SERVICE_HOST: 'assisted/api' }).variable).toBe('ASSISTED_SERVICE_HOST');
  });

  it('refuses the same port for both listeners', () => {
    expect(failure({ LISTEN_PORT: '8080', HTTP_LISTEN_PORT: '8080' }).variable).toBe('HTTP_LISTEN_PORT');
    expect(failure({ HTTP_LISTEN_PORT: '8080' }).variable).toBe('HTTP_LISTEN_PORT');
  });

  it('never echoes the value of a variable that may hold a credential', () => {
    expect(
      failure({ OS_IMAGES_REQUEST_HEADERS: '{"Authorization": 5, "secret-token": "s3cr3t"}' }).message,
    ).not.toContain('s3cr3t');
    expect(failure({ OS_IMAGES_REQUEST_QUERY_PARAMS: 's3cr3t' }).message).not.toContain('s3cr3t');
  });
});

describe('catalog', () => {
  it('reads the array form from OS_IMAGES, normalising arch aliases and defaulting the type', () => {
    const entries = [
      { ...ENTRY, sha256: 'AB'.repeat(32), rootfs_url: 'https://mirror.example.com/rootfs.img' },
      { ...ENTRY, cpu_architecture: 'aarch64', type: 'disconnected-iso', url: 'file:///mirror/arm.iso' },
      { ...ENTRY, cpu_architecture: 'amd64' },
    ];
    const config = loadConfig({ OS_IMAGES: JSON.stringify(entries) });
    expect(config.catalog.source).toBe('OS_IMAGES');
    expect(config.catalog.entries).toEqual([
      {
        openshiftVersion: '4.14',
        cpuArchitecture: 'x86_64',
        url: ISO,
        version: ENTRY.version,
        type: 'full-iso',
        rootfsUrl: 'https://mirror.example.com/rootfs.img',
        sha256: 'ab'.repeat(32),
      },
      {
        openshiftVersion: '4.14',
        cpuArchitecture: 'arm64',
        url: 'file:///mirror/arm.iso',
        version: ENTRY.version,
        type: 'disconnected-iso',
      },
      { openshiftVersion: '4.14', cpuArchitecture: 'x86_64', url: ISO, version: ENTRY.version, type: 'full-iso' },
    ]);
  });

  it('lets OS_IMAGES win over RHCOS_VERSIONS, and reads the array form from RHCOS_VERSIONS', () => {
    const other = { ...ENTRY, openshift_version: '4.15' };
    expect(
      loadConfig({ OS_IMAGES: JSON.stringify([ENTRY]), RHCOS_VERSIONS: JSON.stringify([other]) }).catalog.entries[0]
        ?.openshiftVersion,
    ).toBe('4.14');
    const config = loadConfig({ RHCOS_VERSIONS: JSON.stringify([other]) });
    expect(config.catalog.source).toBe('RHCOS_VERSIONS');
    expect(config.catalog.entries[0]?.openshiftVersion).toBe('4.15');
  });

  it("reads the seed's map form of RHCOS_VERSIONS", () => {
    const seed = {
      '4.6': { iso_url: 'https://mirror.example.com/4.6.iso', rootfs_url: 'https://mirror.example.com/4.6-rootfs.img' },
      '4.7': { iso_url: 'file:///mirror/4.7.iso' },
    };
    expect(loadConfig({ RHCOS_VERSIONS: JSON.stringify(seed) }).catalog.entries).toEqual([
      {
        openshiftVersion: '4.6',
        cpuArchitecture: 'x86_64',
        url: 'https://mirror.example.com/4.6.iso',
        version: '4.6',
        type: 'full-iso',
        rootfsUrl: 'https://mirror.example.com/4.6-rootfs.img',
      },
      {
        openshiftVersion: '4.7',
        cpuArchitecture: 'x86_64',
        url: 'file:///mirror/4.7.iso',
        version: '4.7',
        type: 'full-iso',
      },
    ]);
  });

  it.each([
    ['OS_IMAGES', '{"4.6": {"iso_url": "https://x/y.iso"}}', /^OS_IMAGES: must be a JSON array/],
    ['OS_IMAGES', '[]', /^OS_IMAGES: must list at least one image/],
    ['OS_IMAGES', '[1]', /^OS_IMAGES: \[0\] must be a JSON object/],
    ['OS_IMAGES', '[{"oops"', /^OS_IMAGES: is not valid JSON/],
    ['RHCOS_VERSIONS', '"4.6"', /^RHCOS_VERSIONS: must be a JSON array of images or an object keyed by version/],
    ['RHCOS_VERSIONS', '{}', /^RHCOS_VERSIONS: must list at least one version/],
    [
      'RHCOS_VERSIONS',
      '{"4.6": {"rootfs_url": "https://x/r.img"}}',
      /^RHCOS_VERSIONS: \["4\.6"\]\.iso_url is required/,
    ],
    ['RHCOS_VERSIONS', '{"../etc": {"iso_url": "https://x/y.iso"}}', /^RHCOS_VERSIONS: key "\.\.\/etc"/],
    ['RHCOS_VERSIONS', '{"4.6": {"iso_url": "ftp://x/y.iso"}}', /^RHCOS_VERSIONS: \["4\.6"\]\.iso_url must be an http/],
  ])('%s=%s is refused', (variable, value, message) => {
    expect(failure({ [variable]: value }).message).toMatch(message);
  });

  it.each([
    ['openshift_version', undefined, /\[0\]\.openshift_version is required/],
    ['cpu_architecture', undefined, /\[0\]\.cpu_architecture is required/],
    ['url', undefined, /\[0\]\.url is required/],
    ['version', undefined, /\[0\]\.version is required/],
    ['cpu_architecture', 'riscv64', /cpu_architecture must be one of/],
    ['url', 'mirror.example.com/x.iso', /url must be an http:\/\/, https:\/\/ or file:\/\/ URL/],
    ['version', '../../etc/passwd', /version must be 1-100 characters/],
    ['openshift_version', '4.14/../x', /openshift_version must be 1-100 characters/],
    ['type', 'minimal-iso', /type must be one of full-iso, disconnected-iso/],
    ['rootfs_url', 'file:///rootfs.img', /rootfs_url must be an http/],
    ['sha256', 'abc', /sha256 must be 64 hexadecimal characters/],
  ])('an entry with %s=%j is refused', (key, value, message) => {
    const entry: Record<string, unknown> = { ...ENTRY, [key]: value };
    if (value === undefined) delete entry[key];
    const error = failure({ OS_IMAGES: JSON.stringify([ENTRY, entry]) });
    expect(error.variable).toBe('OS_IMAGES');
    expect(error.message.replace('[1]', '[0]')).toMatch(message);
  });
});
