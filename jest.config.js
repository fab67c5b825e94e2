/** Tests run from the TypeScript sources through swc; `npm test` type-checks and builds with
 * tsc first. `npm run test:compat [-- <client>]` runs only the compatibility suite. */
const compatOnly = process.env.RFS_TEST_COMPAT_ONLY === '1';
// These packages ship only ES modules. Plain node (≥ 20.19) require()s them as they are, but
// Jest's own module loader cannot, so under Jest swc compiles them to CommonJS like our sources.
const esmOnlyPackages = ['jose', 'openid-client', 'oauth4webapi', 'oidc-provider'].join('|');
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
    [`/node_modules/(${esmOnlyPackages})/.+\\.js$`]: ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnlyPackages})/)`],
  testMatch: compatOnly
    ? ['<rootDir>/test-compat/**/*.test.ts']
    : ['<rootDir>/{gateway,storage-node,metadata,test-compat,deploy,cli}/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 60000,
};
