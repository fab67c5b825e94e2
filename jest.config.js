/** Tests run from the TypeScript sources through swc; `npm test` type-checks and builds with
 * tsc first. `npm run test:compat [-- <client>]` runs only the compatibility suite. */
const compatOnly = process.env.RFS_TEST_COMPAT_ONLY === '1';
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  testMatch: compatOnly
    ? ['<rootDir>/test-compat/**/*.test.ts']
    : ['<rootDir>/{gateway,storage-node,metadata,test-compat,deploy}/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 60000,
};
