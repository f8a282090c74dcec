import fc from 'fast-check';
import { fakeJwt } from './jwt.js';

const METHODS = ['GET', 'HEAD', 'POST', 'OPTIONS', 'DELETE'] as const;
type Method = (typeof METHODS)[number];

/**
 * One generated request. Strings are byte strings (one character per byte, sent as latin1), so a target or header
 * can carry exactly the bytes a hostile client would put on the wire, including raw UTF-8 and bytes Node refuses.
 */
export interface HostileRequest {
  readonly method: Method;
  /** The route shape the target was built from, for the tally and for reading a failure. */
  readonly shape: string;
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: { readonly contentType: string; readonly data: string };
}

/** Values the service knows, so that a share of the generated requests get past validation and succeed. */
export interface HostileWorld {
  /** Infra-env ids the stand-in assisted-service knows. */
  readonly knownIds: readonly string[];
  readonly versions: readonly string[];
  readonly archs: readonly string[];
}

/** The UTF-8 bytes of `text` as a byte string: raw non-ASCII on the wire, as a client that does not escape sends it. */
function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

function percentEncoded(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return utf8Bytes(text); // a lone surrogate: send what Buffer makes of it
  }
}

const TEN_KIB = 10 * 1024;

// ---- path segments and query values --------------------------------------------------------------------------

const uppercaseUuid = fc.uuid().map((id) => id.toUpperCase());
const longText = fc.oneof(
  fc.constant('a'.repeat(TEN_KIB)),
  fc.string({ minLength: 1000, maxLength: 3000 }).map(percentEncoded),
  fc.constant('%ff'.repeat(3000)),
);
const nonUtf8Escapes = fc.constantFrom(
  '%ff%fe',
  '%c0%af',
  '%ed%a0%80',
  '%80',
  '%e2%82',
  '%f8%88%80%80%80',
  '%c0%ae%c0%ae',
);
const dotDot = fc.constantFrom(
  '..',
  '.',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '..%2f..%2f..%2fetc%2fpasswd',
  '..%5c..%5c',
  '%252e%252e',
  '...',
);
const encodedSlash = fc.constantFrom('%2f', '%2F', 'a%2fb', '%5c', '%2f%2e%2e%2f');
const nul = fc.constantFrom('%00', 'a%00b', '\0', 'full.iso%00.txt', 'x\0y');
const hugeNumber = fc.oneof(
  fc.constantFrom(
    '9'.repeat(400),
    '18446744073709551616',
    '9007199254740993',
    '-1',
    '1e309',
    '0x10',
    'NaN',
    'Infinity',
    '-0',
  ),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 256n }).map(String),
);
// Raw UTF-8 in a request-target is refused by Node's parser before the app sees it: mostly send it escaped.
const unicodeText = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
  .chain((text) => fc.oneof({ weight: 3, arbitrary: fc.constant(percentEncoded(text)) }, fc.constant(utf8Bytes(text))));
const lookalikes = fc.constantFrom(
  '%0d%0aX-Injected:%20yes',
  '%3f',
  '%23',
  ';',
  '%20',
  '+',
  '%25',
  '%',
  '%zz',
  '%%',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '%2e',
  '*',
  '~',
  '\\',
  '%ef%bb%bf',
  '%e2%80%ae',
);
const randomText = fc.string({ maxLength: 24 }).map(percentEncoded);

/** A segment or value no well-behaved client would send. */
const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.uuid(),
  uppercaseUuid,
  longText,
  nonUtf8Escapes,
  dotDot,
  encodedSlash,
  nul,
  hugeNumber,
  unicodeText,
  fc.constant(''),
  lookalikes,
  randomText,
);

/**
 * Half the requests are wild (any part may be hostile); the other half are mild (well-formed, with a hostile part now
 * and then), so that enough of them get through validation to the downloads whose answers property 5 checks.
 */
type Mood = 'wild' | 'mild';

/** Odds of a valid value against a hostile one, per part of a request. */
const VALID_ODDS: Readonly<Record<Mood, number>> = { wild: 4, mild: 25 };

/** Mostly the value that works, sometimes something hostile. */
function usually(valid: fc.Arbitrary<string>, mood: Mood): fc.Arbitrary<string> {
  return fc.oneof({ weight: VALID_ODDS[mood], arbitrary: valid }, { weight: 1, arbitrary: hostileText });
}

/** `arbitrary` in `present` of `outOf` cases, else undefined. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, present: number, outOf: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: present, arbitrary }, { weight: outOf - present, arbitrary: fc.constant(undefined) });
}

function idSegment(world: HostileWorld, mood: Mood): fc.Arbitrary<string> {
  // A random lowercase UUID is valid but unknown upstream: the stand-in answers 404, which must pass through.
  return usually(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...world.knownIds) }, fc.uuid()), mood);
}

// ---- JWTs ----------------------------------------------------------------------------------------------------

function claimValue(world: HostileWorld): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...world.knownIds),
    fc.uuid(),
    uppercaseUuid,
    fc.constantFrom(
      '../../x',
      'not-a-uuid',
      '',
      `${world.knownIds[0] ?? ''}/../..`,
      `${world.knownIds[0] ?? ''}/downloads/files`,
      `${world.knownIds[0] ?? ''}?x=1`,
      `${world.knownIds[0] ?? ''}\n`,
    ),
    fc.integer(),
    fc.double(),
    fc.constant(null),
    fc.boolean(),
    fc.array(fc.constantFrom(...world.knownIds), { maxLength: 2 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
    fc.string({ maxLength: 40 }),
  );
}

function jwtPayload(world: HostileWorld): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    { sub: claimValue(world), infra_env_id: claimValue(world), exp: fc.integer(), extra: fc.string({ maxLength: 20 }) },
    { requiredKeys: [] },
  );
}

const base64url = (text: string): string => Buffer.from(text, 'latin1').toString('base64url');

/** Path-safe base64url JWTs with random payloads, and the ways a token can be broken. */
function jwtText(world: HostileWorld, mood: Mood = 'wild'): fc.Arbitrary<string> {
  const known = fc.constantFrom(...world.knownIds);
  const naming = fc.oneof(
    known.map((sub) => fakeJwt({ sub })),
    known.map((id) => fakeJwt({ sub: 'user-1', infra_env_id: id })),
  );
  if (mood === 'mild')
    return fc.oneof({ weight: VALID_ODDS.mild, arbitrary: naming }, { weight: 1, arbitrary: jwtText(world, 'wild') });
  const wellFormed = jwtPayload(world).map(fakeJwt);
  const payloadNotAnObject = fc
    .constantFrom('null', '"str"', '[]', '42', '{', '{"sub":', '\u00ff\u00fe')
    .map((payload) => `eyJhbGciOiJub25lIn0.${base64url(payload)}.sig`);
  const brokenBase64 = fc.constantFrom('!!!.@@@.###', 'a.b.c', '..', '.', 'a..b', 'a.b', 'a.b.c.d', '====.====.====');
  const oversized = fc.constant(
    `x.${base64url(JSON.stringify({ sub: world.knownIds[0], pad: 'p'.repeat(20_000) })).slice(0, 20_000)}.y`,
  );
  const garbageParts = fc.tuple(hostileText, hostileText, hostileText).map((parts) => parts.join('.'));
  // A UUID `sub` with bytes that cannot go into an HTTP header elsewhere in the token.
  const oddPartsWithKnownSub = fc
    .tuple(
      fc.constantFrom(...world.knownIds),
      fc.constantFrom('%e2%82%ac', '%0a', '%0d%0aX:%20y', '%00', '%ff', '%7f', '%09', '%20'),
    )
    .map(([id, odd]) => `${odd}hdr.${base64url(JSON.stringify({ sub: id }))}.sig${odd}`);
  return fc.oneof(
    { weight: 2, arbitrary: naming },
    { weight: 4, arbitrary: wellFormed },
    payloadNotAnObject,
    brokenBase64,
    oversized,
    garbageParts,
    { weight: 2, arbitrary: oddPartsWithKnownSub },
  );
}

// ---- paths ---------------------------------------------------------------------------------------------------

interface ShapedPath {
  readonly shape: string;
  readonly path: string;
}

function routePath(world: HostileWorld, mood: Mood): fc.Arbitrary<ShapedPath> {
  const id = idSegment(world, mood);
  const version = usually(fc.constantFrom(...world.versions, '4.17'), mood);
  const arch = usually(fc.constantFrom(...world.archs), mood);
  const filename = usually(
    fc.constantFrom('full.iso', 'full.iso', 'minimal.iso', 'disconnected.iso', 'FULL.ISO'),
    mood,
  );
  const artifact = usually(fc.constantFrom('rootfs', 'kernel', 'ins-file'), mood);
  const token = usually(jwtText(world, mood), mood);
  const shaped = (shape: string, arbitrary: fc.Arbitrary<string>): fc.Arbitrary<ShapedPath> =>
    arbitrary.map((path) => ({ shape, path }));
  return fc.oneof(
    shaped(
      'images',
      id.map((i) => `/images/${i}`),
    ),
    shaped(
      'pxe-initrd',
      id.map((i) => `/images/${i}/pxe-initrd`),
    ),
    shaped(
      's390x-initrd-addrsize',
      id.map((i) => `/images/${i}/s390x-initrd-addrsize`),
    ),
    shaped(
      'byid',
      fc.tuple(id, version, arch, filename).map((parts) => `/byid/${parts.join('/')}`),
    ),
    shaped(
      'bytoken',
      fc.tuple(token, version, arch, filename).map((parts) => `/bytoken/${parts.join('/')}`),
    ),
    shaped(
      'byapikey',
      fc.tuple(token, version, arch, filename).map((parts) => `/byapikey/${parts.join('/')}`),
    ),
    shaped(
      'boot-artifacts',
      artifact.map((a) => `/boot-artifacts/${a}`),
    ),
    shaped('probe', fc.constantFrom('/health', '/live', '/metrics')),
    shaped(
      'docs',
      fc.constantFrom(
        '/docs',
        '/docs/',
        '/openapi.json',
        '/openapi.yaml',
        '/docs/swagger-ui.css',
        '/docs/swagger-ui-bundle.js',
        '/docs/../../package.json',
        '/docs/..%2f..%2fpackage.json',
        '/docs/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      ),
    ),
    { weight: mood === 'wild' ? 1 : 0, arbitrary: shaped('garbage', garbagePath) },
  );
}

const garbagePath: fc.Arbitrary<string> = fc.oneof(
  fc.array(hostileText, { minLength: 1, maxLength: 5 }).map((segments) => `/${segments.join('/')}`),
  fc.constantFrom(
    '*',
    '/',
    '//',
    '//images//x',
    '/images/../live',
    '/live/..',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/images/%2e%2e/%2e%2e/etc/passwd',
    '/boot-artifacts/rootfs/..',
    '/boot-artifacts/..%2f..%2f..%2fetc%2fpasswd',
    'http://evil.example/images/x',
    '/images',
    '/images/',
    '/byid',
    '/bytoken/a/b/c',
    '/\\..\\..\\etc\\passwd',
    '/images/x/pxe-initrd/extra',
    '/metrics/..',
    '/health%00',
  ),
);

/** Routes are matched case-insensitively and with an optional trailing slash: exercise both. */
function decorated(path: fc.Arbitrary<ShapedPath>): fc.Arbitrary<ShapedPath> {
  return fc
    .tuple(path, fc.constantFrom('as-is', 'as-is', 'as-is', 'trailing-slash', 'upper-case'))
    .map(([{ shape, path: p }, how]) => ({
      shape,
      path:
        how === 'trailing-slash'
          ? `${p}/`
          : how === 'upper-case'
            ? p.replace(/^\/[a-z-]+/, (head) => head.toUpperCase())
            : p,
    }));
}

// ---- query strings -------------------------------------------------------------------------------------------

function queryPair(world: HostileWorld, mood: Mood): fc.Arbitrary<string> {
  const key = fc.oneof(
    {
      weight: mood === 'wild' ? 3 : 40,
      arbitrary: fc.constantFrom('version', 'type', 'arch', 'api_key', 'image_token'),
    },
    fc.constantFrom(
      'version[]',
      'type[]',
      'arch[0]',
      '__proto__',
      'constructor',
      '__proto__[version]',
      'constructor[prototype][version]',
      'version[__proto__]',
      'version.length',
      'hasOwnProperty',
    ),
    hostileText,
  );
  const value = usually(
    fc.oneof(
      fc.constantFrom(...world.versions, ...world.archs, 'full-iso', 'minimal-iso', 'disconnected-iso', 'iso'),
      jwtText(world, mood),
    ),
    mood,
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(key, value).map(([k, v]) => `${k}=${v}`) },
    key,
    fc.constant(''),
    fc.constant('='),
  );
}

/** A query string: often a valid version first so validation passes, then anything, keys repeated at will. */
function queryString(world: HostileWorld, mood: Mood): fc.Arbitrary<string> {
  const validCore = fc.constantFrom(...world.versions).map((version) => [`version=${version}`]);
  const core = fc.oneof({ weight: mood === 'wild' ? 2 : 20, arbitrary: validCore }, fc.constant<string[]>([]));
  const mark = mood === 'wild' ? fc.constantFrom('?', '?', '?', '??', '?&') : fc.constant('?');
  return fc
    .tuple(core, fc.array(queryPair(world, mood), { maxLength: mood === 'wild' ? 5 : 2 }), mark)
    .map(([first, rest, mark]) => {
      const pairs = [...first, ...rest];
      return pairs.length === 0 ? '' : `${mark}${pairs.join('&')}`;
    });
}

// ---- headers -------------------------------------------------------------------------------------------------

const smallOffset = fc.nat({ max: 4 * 1024 * 1024 });
const beyondSafe = fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }).map(String);

/** Range headers: the valid kinds, and the ways to get them wrong. */
const rangeHeader: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(smallOffset, fc.nat({ max: 3 * 1024 * 1024 })).map(([start, length]) => `bytes=${start}-${start + length}`),
  smallOffset.map((start) => `bytes=${start}-`),
  fc.nat({ max: 5 * 1024 * 1024 }).map((length) => `bytes=-${length}`),
  fc.tuple(smallOffset, smallOffset).map(([a, b]) => `bytes=${a}-${a + 1},${b}-${b + 10}`),
  fc.tuple(fc.integer({ min: -5000, max: -1 }), smallOffset).map(([a, b]) => `bytes=${a}-${b}`),
  fc.tuple(smallOffset, fc.nat({ max: 1000 })).map(([a, d]) => `bytes=${a + d + 1}-${a}`),
  fc.tuple(beyondSafe, fc.option(beyondSafe, { nil: '' })).map(([a, b]) => `bytes=${a}-${b}`),
  beyondSafe.map((b) => `bytes=0-${b}`),
  beyondSafe.map((n) => `bytes=-${n}`),
  fc.constantFrom(
    'bytes=',
    'bytes=-',
    'bytes=-0',
    'bytes=0-0',
    'bytes = 0 - 5',
    'BYTES=0-0',
    'bytes=01-02',
    'bytes=+1-2',
    'bytes=1.5-2',
    'items=0-5',
    'bytes=abc',
    'bytes=0-0,',
    '',
    ' ',
  ),
  hostileText,
);

/** If-Modified-Since: valid HTTP dates on both sides of any Last-Modified, and garbage. */
const ifModifiedSinceHeader: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms).toUTCString()),
  fc.constantFrom(
    'Thu, 01 Jan 1970 00:00:00 GMT',
    'Fri, 31 Dec 9999 23:59:59 GMT',
    'yesterday',
    '0',
    '-1',
    '2026-01-02T03:04:05Z',
    'Mon, 32 Foo 2026 25:61:61 GMT',
    '',
  ),
  hugeNumber,
  hostileText,
);

/** Header values Node's HTTP client sends (obs-text bytes 0x80-0xff) and ones only a raw socket can (controls). */
const oddHeaderBytes = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(utf8Bytes) },
  fc.constantFrom('a\u0000b', 'a\u0001b', 'a\u007fb', 'a\u001bb', 'a\rb', 'a\nb', '\u00ff\u00fe', 'a\tb'),
);

function authorizationHeader(world: HostileWorld, mood: Mood): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: mood === 'wild' ? 1 : 20, arbitrary: jwtText(world, mood).map((jwt) => `Bearer ${jwt}`) },
    fc.constantFrom(
      'Bearer ',
      'Basic dXNlcjpwYXNz',
      'Bearer \u00ff\u00fe\u00c0\u00af',
      `Bearer ${'x'.repeat(TEN_KIB)}`,
      'Bearer a\u0001b',
      'Bearer a\u007fb',
      'Bearer a\u0000b',
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
    oddHeaderBytes,
  );
}

const headerName = fc.constantFrom(
  'X-Test',
  'X-\u00ff',
  'X Bad',
  'X:Bad',
  '',
  'X-\u0001',
  'Accept',
  'Accept-Encoding',
  'Cookie',
  'Forwarded',
  'X-Forwarded-For',
  'Expect',
);
const headerValue = fc.oneof(
  hostileText,
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
  oddHeaderBytes,
  fc.constantFrom('gzip, br', '100-continue', '__proto__=1', 'for=127.0.0.1;proto=https'),
);
const originHeader = fc.constantFrom(
  'https://console.example.com',
  'https://evil.example',
  'null',
  'http://console.example.com:1',
  '\u00ff',
);
const contentTypeHeader = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
);
const bodyText = fc.oneof(
  fc.constantFrom(
    '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
    'a=1&__proto__[polluted]=1',
    '{bad json',
    '',
    '[]',
    'null',
  ),
  fc.string({ maxLength: 200 }).map(utf8Bytes),
);

function headerList(world: HostileWorld, mood: Mood): fc.Arbitrary<(readonly [string, string])[]> {
  const wild = mood === 'wild';
  return fc
    .record({
      range: sometimes(rangeHeader, 1, 2),
      secondRange: sometimes(rangeHeader, 1, wild ? 15 : 50),
      ifModifiedSince: sometimes(ifModifiedSinceHeader, 1, 5),
      authorization: sometimes(authorizationHeader(world, mood), 1, 4),
      origin: sometimes(originHeader, 1, 6),
      extra: sometimes(fc.tuple(headerName, headerValue), 1, wild ? 5 : 30),
    })
    .map(({ range, secondRange, ifModifiedSince, authorization, origin, extra }) => {
      const headers: [string, string][] = [];
      if (range !== undefined) headers.push(['Range', range]);
      if (secondRange !== undefined) headers.push(['Range', secondRange]);
      if (ifModifiedSince !== undefined) headers.push(['If-Modified-Since', ifModifiedSince]);
      if (authorization !== undefined) headers.push(['Authorization', authorization]);
      if (origin !== undefined) headers.push(['Origin', origin], ['Access-Control-Request-Method', 'GET']);
      if (extra !== undefined) headers.push(extra);
      return headers;
    });
}

function method(mood: Mood): fc.Arbitrary<Method> {
  const others = fc.constantFrom<Method>('POST', 'OPTIONS', 'DELETE');
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant<Method>('GET') },
    { weight: 3, arbitrary: fc.constant<Method>('HEAD') },
    { weight: mood === 'wild' ? 3 : 1, arbitrary: others },
  );
}

function requestIn(world: HostileWorld, mood: Mood): fc.Arbitrary<HostileRequest> {
  const body = sometimes(fc.record({ contentType: contentTypeHeader, data: bodyText }), 1, 2);
  const parts = {
    method: method(mood),
    where: decorated(routePath(world, mood)),
    query: queryString(world, mood),
    headers: headerList(world, mood),
    body,
  };
  return fc.record(parts).map(({ method: m, where, query, headers, body: b }) => ({
    method: m,
    shape: where.shape,
    target: where.path === '*' || where.path.startsWith('http') ? where.path : `${where.path}${query}`,
    headers,
    // A body on GET is unusual but legal, and the body parser reads it before any route runs.
    ...(b !== undefined && m !== 'HEAD' && (mood === 'wild' || m === 'POST' || m === 'DELETE') && { body: b }),
  }));
}

/** Every route, with hostile segments, queries, headers and methods: half wild, half mild. */
export function hostileRequest(world: HostileWorld): fc.Arbitrary<HostileRequest> {
  return fc.oneof(requestIn(world, 'wild'), requestIn(world, 'mild'));
}
