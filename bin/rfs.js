#!/usr/bin/env node
// The `rfs` command (package.json "bin"): runs the compiled CLI, cli/main.ts built into dist/.
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const main = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write(`rfs: ${path.relative(process.cwd(), main) || main} is missing: run \`npm run build\` first\n`);
  process.exit(3);
}
require(main);
