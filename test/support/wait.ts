/** Polls `check` until it holds (errors count as "not yet"), or fails naming `what` and the last error. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  everyMs = 150,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error as Error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

/** Waits until the gateway at `api` lists at least one tool of `serverId` (its upstream was discovered). */
export async function waitForTools(api: string, serverId: string, headers: Record<string, string>, timeoutMs = 20_000) {
  await waitFor(
    async () => {
      const res = await fetch(`${api}/api/tools?server_id=${encodeURIComponent(serverId)}`, { headers });
      return ((await res.json()) as { total_count?: number }).total_count! > 0;
    },
    timeoutMs,
    `tools of ${serverId}`,
  );
}
