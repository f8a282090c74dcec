/**
 * Which folder may import which (docs/architecture.md explains the layers). From low to high:
 *   0  src/iso (the ISO library: Node built-ins only), src/common (small primitives)
 *   1  src/config     2  src/logging     3  src/metrics     4  src/server
 *   5  src/assisted, src/versions, src/delivery (siblings)     6  src/images, src/health (siblings)     7  src/*.ts
 * A folder imports only from itself and lower layers: arrows point down, so folders cannot form a cycle.
 */
const LAYERS = [
  ['iso', 'common'],
  ['config'],
  ['logging'],
  ['metrics'],
  ['server'],
  ['assisted', 'versions', 'delivery'],
  ['images', 'health'],
];

/** Everything at or above `level`, and the siblings of `folder` at its own level. */
function notAllowedFrom(folder, level) {
  const siblings = LAYERS[level].filter((other) => other !== folder);
  const higher = LAYERS.slice(level + 1).flat();
  return [...siblings, ...higher];
}

const layerRules = LAYERS.flatMap((folders, level) =>
  folders.map((folder) => ({
    name: `layer-${folder}`,
    comment: `src/${folder} (layer ${level}) may import only from itself and lower layers`,
    severity: 'error',
    from: { path: `^src/${folder}/` },
    to: { path: [`^src/(${notAllowedFrom(folder, level).join('|')})/`, '^src/[^/]+\\.ts$'] },
  })),
);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles, within a folder or across folders',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-to-test',
      comment: 'the service (and its unit specs) never imports test support: what needs it is an integration test under test/',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'iso-is-self-contained',
      comment: 'src/iso imports nothing outside itself but Node built-ins: it can be read, tested and reused alone',
      severity: 'error',
      from: { path: '^src/iso/' },
      to: { pathNot: ['^src/iso/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'iso-through-its-entry',
      comment: 'outside src/iso (and its integration tests in test/iso), the ISO library is imported through src/iso/index.ts only',
      severity: 'error',
      from: { pathNot: '^(src|test)/iso/' },
      to: { path: '^src/iso/', pathNot: '^src/iso/index\\.ts$' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^(dist|coverage)/)|(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
