import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import {
  AssistedServiceConfig,
  CatalogConfig,
  ImageSourceConfig,
  LoggingConfig,
  ServerConfig,
  StorageConfig,
} from './app-config.js';
import { DEFAULT_CATALOG } from './catalog.js';
import { loadConfig, validateEnvironment, type Environment } from './config.module.js';
import { ConfigError } from './environment.js';

const ISO = 'https://mirror.example.com/rhcos-4.14-x86_64-live.iso';
const ENTRY = { openshift_version: '4.14', cpu_architecture: 'x86_64', url: ISO, version: '414.92.202310170514-0' };

// Two self-signed pairs (EC P-256, valid 100 years), each certificate doubling as a CA bundle.
const PAIRS = {
  a: {
    cert: `-----BEGIN CERTIFICATE-----
MIIBhjCCAS2gAwIBAgIUFdLAwYP0vL4eplE/RY0OhJArICMwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNY29uZmlnIHNwZWMgYTAgFw0yNjEyMDExNzAzMDFaGA8yMTI2
MTEwNzE3MDMwMVowGDEWMBQGA1UEAwwNY29uZmlnIHNwZWMgYTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABDT8lTJf5XUTTT0DWhyAN1cGJVCUsBOBZMJjeDEEEBXc
kbuRgG6SZ+fx+I6oF7keKWl67lKiPpfyL5fLntQ+a7yjUzBRMB0GA1UdDgQWBBS0
x59vDiVIZMGM28hva34rqjqmXzAfBgNVHSMEGDAWgBS0x59vDiVIZMGM28hva34r
qjqmXzAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIBnlQ/aDnKRI
7mRbk2A1RLUP4oSbl+/eBdH+KsXbpCrqAiAhDNKSVqThMFf677hNNtMyO7YRGqs6
VlHey+IYQ/j5zw==
-----END CERTIFICATE-----`,
    key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2VJihRycWXd6cMr8
OJl4G5BDFGmx6y+R7OmY018uiJyhRANCAAQ0/JUyX+V1E009A1ocgDdXBiVQlLAT
gWTCY3gxBBAV3JG7kYBukmfn8fiOqBe5Hilpeu5Soj6X8i+Xy57UPmu8
-----END PRIVATE KEY-----`,
  },
  b: {
    cert: `-----BEGIN CERTIFICATE-----
MIIBhzCCAS2gAwIBAgIUT9rronOHWZCZSfeQfQSTMu4wok8wCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNY29uZmlnIHNwZWMgYjAgFw0yNjEyMDExNzAzMDFaGA8yMTI2
MTEwNzE3MDMwMVowGDEWMBQGA1UEAwwNY29uZmlnIHNwZWMgYjBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABEeXsEEyALdH9nxUZf5pVydRomCGp98sT8w8il38HhZV
NeXvBZ+LvlOglSJv444Jutj6+wrWmHEY9FOUJ1zQWB2jUzBRMB0GA1UdDgQWBBSP
LkYG/k3x4odI0EXXza4yFmnb9zAfBgNVHSMEGDAWgBSPLkYG/k3x4odI0EXXza4y
Fmnb9zAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQC6v5LnTU6V
wyyUZGcpIsbicq7+c95Bu4S9ViVfd2D/4wIgKXzFeu12u2a3TxebRbXEqeXuOyKG
pbUFYO97vuONiHU=
-----END CERTIFICATE-----`,
    key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1T7nTPmNlICX0+JU
+cXFxO/5ZtWna0D4qw4ruzPgbmChRANCAARHl7BBMgC3R/Z8VGX+aVcnUaJghqff
LE/MPIpd/B4WVTXl7wWfi75ToJUib+OOCbrY+vsK1phxGPRTlCdc0Fgd
-----END PRIVATE KEY-----`,
  },
};

interface CertificateFiles {
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
}

let dir: string;
let certs: CertificateFiles;
let otherCerts: CertificateFiles;
let notPem: string;

async function writePair(name: keyof typeof PAIRS): Promise<CertificateFiles> {
  const { cert, key } = PAIRS[name];
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(certFile, `${cert}\n`);
  await writeFile(keyFile, `${key}\n`);
  return { caFile: certFile, caPem: `${cert}\n`, certFile, keyFile };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-spec-'));
  certs = await writePair('a');
  otherCerts = await writePair('b');
  notPem = join(dir, 'not-a-certificate.txt');
  await writeFile(notPem, 'hello\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function failure(env: Environment): ConfigError {
  try {
    validateEnvironment(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('validateEnvironment defaults', () => {
  it('starts with an empty environment using the documented defaults', () => {
    const config = validateEnvironment({});
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
    const config = validateEnvironment({ LISTEN_PORT: '', LOG_LEVEL: '  ', RHCOS_VERSIONS: '' });
    expect(config.server.listenPort).toBe(8080);
    expect(config.logging.level).toBe('info');
    expect(config.catalog.source).toBe('built-in default');
  });
});

interface VariableCase {
  variable: string;
  good: [string, (config: ReturnType<typeof validateEnvironment>) => unknown, unknown][];
  bad: string[];
  /** Other variables set alongside, for variables that only make sense with a partner. */
  extra?: Environment;
}

const portCases = (variable: string, read: (c: ReturnType<typeof validateEnvironment>) => unknown): VariableCase => ({
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
    expect(read(validateEnvironment({ ...extra, [variable]: value }))).toEqual(expected);
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
    const config = validateEnvironment({
      ASSISTED_SERVICE_API_TRUSTED_CA_FILE: certs.caFile,
      OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE: otherCerts.caFile,
    });
    expect(config.assistedService.trustedCaPem).toBe(certs.caPem);
    expect(config.imageSource.trustedCaPem).toBe(otherCerts.caPem);
    expect(validateEnvironment({ HTTPS_CA_FILE: certs.caFile }).assistedService.trustedCaPem).toBe(certs.caPem);
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
    expect(validateEnvironment({ HTTPS_CERT_FILE: certs.certFile, HTTPS_KEY_FILE: certs.keyFile }).server.tls).toEqual({
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
    expect(validateEnvironment({ LISTEN_PORT: '9001', PORT: '9002' }).server.listenPort).toBe(9001);
    expect(failure({ PORT: 'x' }).variable).toBe('PORT');
  });

  it('prefers LOG_LEVEL over LOGLEVEL', () => {
    expect(validateEnvironment({ LOG_LEVEL: 'warn', LOGLEVEL: 'debug' }).logging.level).toBe('warn');
  });

  it('takes the old name when the canonical one is blank', () => {
    expect(validateEnvironment({ LISTEN_PORT: ' ', PORT: '9002' }).server.listenPort).toBe(9002);
    expect(validateEnvironment({ LOG_LEVEL: '', LOGLEVEL: 'warn' }).logging.level).toBe('warn');
    expect(failure({ LOG_LEVEL: '', LOGLEVEL: 'loud' }).variable).toBe('LOGLEVEL');
  });

  it('builds the assisted-service URL from scheme and host, ASSISTED_SERVICE_URL winning', () => {
    expect(
      validateEnvironment({ ASSISTED_SERVICE_SCHEME: 'https', ASSISTED_SERVICE_HOST: 'assisted:8090' }).assistedService
        .baseUrl,
    ).toBe('https://assisted:8090');
    expect(validateEnvironment({ ASSISTED_SERVICE_HOST: 'assisted' }).assistedService.baseUrl).toBe('http://assisted');
    expect(
      validateEnvironment({ ASSISTED_SERVICE_URL: 'http://a:1', ASSISTED_SERVICE_HOST: 'b' }).assistedService.baseUrl,
    ).toBe('http://a:1');
    expect(failure({ ASSISTED_SERVICE_SCHEME: 'https' }).variable).toBe('ASSISTED_SERVICE_HOST');
    expect(failure({ ASSISTED_SERVICE_HOST: 'assisted/api' }).variable).toBe('ASSISTED_SERVICE_HOST');
  });

  it('refuses the same port for both listeners', () => {
    expect(failure({ LISTEN_PORT: '8080', HTTP_LISTEN_PORT: '8080' }).variable).toBe('HTTP_LISTEN_PORT');
    expect(failure({ HTTP_LISTEN_PORT: '8080' }).variable).toBe('HTTP_LISTEN_PORT');
  });

  it('hands the logger the configured header and query values, which may be credentials, to redact', () => {
    const config = validateEnvironment({
      OS_IMAGES_REQUEST_HEADERS: '{"Authorization": "Bearer s3cr3t"}',
      OS_IMAGES_REQUEST_QUERY_PARAMS: '{"token": "t0k3n"}',
    });
    expect(config.logging.secretValues).toEqual(['Bearer s3cr3t', 't0k3n']);
    expect(config.imageSource.requestHeaders).toEqual({ Authorization: 'Bearer s3cr3t' });
    expect(validateEnvironment({}).logging.secretValues).toEqual([]);
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
    const config = validateEnvironment({ OS_IMAGES: JSON.stringify(entries) });
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
      validateEnvironment({ OS_IMAGES: JSON.stringify([ENTRY]), RHCOS_VERSIONS: JSON.stringify([other]) }).catalog
        .entries[0]?.openshiftVersion,
    ).toBe('4.14');
    const config = validateEnvironment({ RHCOS_VERSIONS: JSON.stringify([other]) });
    expect(config.catalog.source).toBe('RHCOS_VERSIONS');
    expect(config.catalog.entries[0]?.openshiftVersion).toBe('4.15');
  });

  it('reads the original map form of RHCOS_VERSIONS', () => {
    const mapForm = {
      '4.6': { iso_url: 'https://mirror.example.com/4.6.iso', rootfs_url: 'https://mirror.example.com/4.6-rootfs.img' },
      '4.7': { iso_url: 'file:///mirror/4.7.iso' },
    };
    expect(validateEnvironment({ RHCOS_VERSIONS: JSON.stringify(mapForm) }).catalog.entries).toEqual([
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

describe('loadConfig', () => {
  it('provides each area by its class through ConfigService, without reading or writing process.env', async () => {
    const before = { ...process.env };
    const config = await loadConfig({ LISTEN_PORT: '9100', LOG_LEVEL: 'warn', ALLOWED_DOMAINS: '*' });
    expect(process.env).toEqual(before);
    const moduleRef = await Test.createTestingModule({ imports: [config.module] }).compile();
    const areas = [
      [ServerConfig, config.server],
      [StorageConfig, config.storage],
      [CatalogConfig, config.catalog],
      [ImageSourceConfig, config.imageSource],
      [AssistedServiceConfig, config.assistedService],
      [LoggingConfig, config.logging],
    ] as const;
    for (const [token, area] of areas) expect(moduleRef.get<unknown>(token)).toBe(area);
    expect(moduleRef.get(ServerConfig).listenPort).toBe(9100);
    expect(moduleRef.get(LoggingConfig).level).toBe('warn');
    await moduleRef.close();
  });

  it('rejects with the ConfigError naming the variable, before any module exists', async () => {
    await expect(loadConfig({ PORT: 'eighty' })).rejects.toThrow(ConfigError);
    await expect(loadConfig({ PORT: 'eighty' })).rejects.toMatchObject({ variable: 'PORT' });
  });
});
