import { setFlagsFromString } from 'node:v8';

/**
 * `mcp.runtime.heap-growth-percent`: V8 reads `--heap-growing-percent` each time a full collection sets the next
 * limit, so setting it once at start (before the gateway allocates its working set) takes effect from the first
 * collection on. Not a NODE_OPTIONS flag (Node refuses it there), hence a configuration key. 0 keeps V8's heuristic.
 */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
