#!/usr/bin/env node
import { runCli } from './program';

// exitCode, not exit(): stdout is flushed before the process ends (a piped --json answer
// must not be cut short).
void runCli(process.argv).then((code) => {
  process.exitCode = code;
});
