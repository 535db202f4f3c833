// Global options shared by every uplinkctl command.
import type { Command } from 'commander';
import type { OutputFormat } from './output.js';

export interface GlobalOptions {
  socket: string;
  config: string;
  output: OutputFormat;
}

export function globals(cmd: Command): GlobalOptions {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root.opts<GlobalOptions>();
}
