import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/** The document the CLI's client types are generated from (scripts/generate-cli-client.mjs, run by npm run build). */
const COMMITTED = path.join(REPO, 'src', 'cli', 'api', 'openapi.json');

/**
 * The committed document must be the one the gateway serves (without tool operations: no server is configured
 * here), or the CLI's generated client drifts from the API. `UPDATE_CLI_OPENAPI=1` rewrites it; then `npm run build`
 * regenerates the types and the CLI's compile errors show what changed.
 */
describe('the OpenAPI document the CLI client is generated from', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('cli_openapi');
    gateway = await startTestGateway({ databaseUrl: db.url });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('is the static document the gateway serves to an admin', async () => {
    const served = (await (
      await fetch(`${gateway.addresses.api}/v3/api-docs`, { headers: gateway.authHeaders })
    ).json()) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const toolOperations = Object.values(served.paths).flatMap((item) =>
      Object.values(item).filter((operation) => typeof operation === 'object' && 'x-mcp-server' in operation),
    );
    expect(toolOperations).toEqual([]);
    const text = `${JSON.stringify(served, null, 2)}\n`;
    if (process.env.UPDATE_CLI_OPENAPI === '1') writeFileSync(COMMITTED, text);
    const committed = JSON.parse(readFileSync(COMMITTED, 'utf8')) as unknown;
    if (JSON.stringify(committed) !== JSON.stringify(served)) {
      mkdirSync(path.join(REPO, 'test-output'), { recursive: true });
      writeFileSync(path.join(REPO, 'test-output', 'cli-openapi.json'), text);
    }
    // On failure: test-output/cli-openapi.json is the served one; UPDATE_CLI_OPENAPI=1 npx jest <this file> takes it.
    expect(committed).toEqual(served);
  });
});
