// NestJS 12 and several of its dependencies ship ESM only; @swc/jest transforms them (ts-jest cannot on Node 20).
const esmPackages = [
  '@nestjs',
  'file-type',
  'load-esm',
  'uid',
  '@keyv',
  'keyv',
  'cache-manager',
  '@cacheable',
  'cacheable',
  'hookified',
  'qified',
  'jose',
  'openid-client',
  'oauth4webapi',
  '@standard-schema',
  'strtok3',
  'token-types',
  '@tokenizer',
  'uint8array-extras',
  '@modelcontextprotocol',
  'pkce-challenge',
  'cookie',
  'content-disposition',
  // CommonJS (.cjs), but loads node:http with a dynamic import(), which Jest's VM refuses without SWC's rewrite.
  '@opentelemetry/otlp-exporter-base',
];
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];
const common = {
  transform: { '^.+\\.(t|j|mj|cj)s$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleNameMapper: { '^src/(.*)$': '<rootDir>/src/$1' },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  testEnvironment: 'node',
};
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  testTimeout: 60000,
};
