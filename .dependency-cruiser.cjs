/**
 * Dependency rules of issue 16, checked by `pnpm run lint:deps` (part of `pnpm run lint`, which
 * `npm test` runs). Workspace packages are resolved to their sources (packages/<name>/src/...),
 * so rules name paths. Which names a file may import from @ekm/domain (only the failure table)
 * is a Biome rule (biome.json, noRestrictedImports), since dependency-cruiser sees modules only.
 */
const { readdirSync, readFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');

const TESTS = '(\\.test\\.ts$|/test/|/testing/|/bench/)';
/**
 * Test support that still sits in another owner's src (listed in issue 16's closing note, to be
 * moved to a ./testing export): @ekm/localstack's vitest globalSetup (imports vitest) and
 * @ekm/domain's fast-check arbitraries (import fast-check, a devDependency).
 */
const TEST_SUPPORT_IN_SRC = '^packages/(localstack/src/vitest-setup|domain/src/(arbitrary|arn\\.arbitrary))\\.ts$';
const NOT_PRODUCTION = `${TESTS}|${TEST_SUPPORT_IN_SRC}`;

/** Every workspace package: its folder and its manifest. */
const WORKSPACE = ['packages', 'apps'].flatMap((root) =>
  readdirSync(join(__dirname, root))
    .map((name) => `${root}/${name}`)
    .filter((dir) => existsSync(join(__dirname, dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(__dirname, dir, 'package.json'), 'utf8')) })),
);
const DIR_OF = new Map(WORKSPACE.map((w) => [w.manifest.name, w.dir]));
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * pnpm's workspace packages resolve to their sources, which dependency-cruiser cannot classify
 * (`undetermined`): one rule per package names the workspace devDependencies its src must not use.
 */
const WORKSPACE_DEV_RULES = WORKSPACE.flatMap(({ dir, manifest }) => {
  const dev = Object.keys(manifest.devDependencies ?? {}).filter((name) => DIR_OF.has(name) && !(name in (manifest.dependencies ?? {})));
  if (dev.length === 0) return [];
  return [
    {
      name: 'src-not-on-dev-dependencies',
      comment: `${manifest.name}: a src file runs in production; ${dev.join(', ')} are devDependencies.`,
      severity: 'error',
      from: { path: `^${escapeRe(dir)}/src/`, pathNot: NOT_PRODUCTION },
      to: { path: `^(${dev.map((name) => escapeRe(DIR_OF.get(name))).join('|')})/` },
    },
  ];
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'provider-not-on-harness',
      comment:
        'The reference provider (packages/backup/src, its conformance driver) is a system under test: it must not use the mock of Microsoft, the KMS gateway or the harness.',
      severity: 'error',
      from: { path: '^packages/backup/(src|conformance)/' },
      to: { path: '^packages/(entra-mock|kms-gateway|scenario-runner)/' },
    },
    {
      name: 'provider-not-on-model',
      comment:
        "The reference provider decides for itself: it must not import the domain's model (decide, the account model, the key model, parseKeyArn). Only the failure table is shared.",
      severity: 'error',
      from: { path: '^packages/(backup|kms)/(src|conformance)/', pathNot: TESTS },
      to: { path: '^packages/domain/src/(account|arn|key|rules|arbitrary|arn\\.arbitrary)\\.ts$' },
    },
    {
      name: 'src-not-on-dev-dependencies',
      comment: 'A src file runs in production: what it imports must be a dependency of its package, not a devDependency.',
      severity: 'error',
      from: { path: '^(packages|apps)/[^/]+/src/', pathNot: NOT_PRODUCTION },
      to: { dependencyTypes: ['npm-dev'] },
    },
    ...WORKSPACE_DEV_RULES,
    {
      name: 'domain-imports-nothing',
      comment: '@ekm/domain is the specification: it depends on no other package and no library.',
      severity: 'error',
      from: { path: '^packages/domain/src/', pathNot: NOT_PRODUCTION },
      to: { pathNot: '^packages/domain/src/' },
    },
    {
      name: 'harness-not-on-reference-provider',
      comment: 'The harness reaches providers only through ekm.provider/v1; its src must not import the reference provider.',
      severity: 'error',
      from: { path: '^packages/scenario-runner/src/' },
      to: { path: '^packages/backup/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(\\.turbo|reports|\\.ci|dist)/' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
