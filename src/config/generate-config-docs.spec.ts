import { readFileSync } from 'node:fs';
import { appConfigSchema, serverEntrySchema } from 'src/config/config.schema';
import { CONFIG_DOCS_PATH, renderConfigDocs } from 'src/config/generate-config-docs';
import { envNamesOf, listKeys, nodeOf } from 'src/config/schema-walker';

describe('docs/configuration.md', () => {
  const docs = renderConfigDocs();

  it('is the committed output of the generator (run `npm run config:docs` after changing the schema)', () => {
    expect(readFileSync(CONFIG_DOCS_PATH, 'utf8')).toBe(docs);
  });

  it('lists every key of the schema in kebab-case', () => {
    for (const key of listKeys(appConfigSchema)) expect(docs).toContain(`| \`${key.display}\` |`);
    for (const field of listKeys(serverEntrySchema))
      expect(docs).toContain(`| \`mcp.servers.<id>.${field.display}\` |`);
  });

  it('gives the environment variable forms of each key', () => {
    expect(docs).toContain('`MCP_CLIENT_DEFAULT_TIMEOUT`<br>`MCP_CLIENT_DEFAULTTIMEOUT`');
    expect(docs).toContain('`SPRING_DATASOURCE_URL`<br>`DATABASE_URL`');
    expect(docs).toContain('`MCP_SERVERS_<ID>_POOL_SIZE`<br>`MCP_SERVERS_<ID>_POOLSIZE`');
    expect(docs).toContain('`LOGGING_LEVEL_<KEY>`');
    const scalars = listKeys(appConfigSchema).filter((k) => !k.meta?.ignored && nodeOf(k.schema).kind === 'leaf');
    for (const key of scalars)
      expect(docs).toContain(
        envNamesOf(key)
          .map((n) => `\`${n}\``)
          .join('<br>'),
      );
  });

  it('shows types and defaults, and never the default of a secret', () => {
    expect(docs).toContain('| `server.port` | port | `8080` | `SERVER_PORT`<br>`PORT` |');
    expect(docs).toContain('| `mcp.client.default-timeout` | duration | `30000` |');
    expect(docs).toContain('| `logging.format` | `json` \\| `text` | `json` |');
    expect(docs).toMatch(/\| `mcp\.security\.jwt\.secret` \| string \| \*secret\* \|/);
  });

  it('lists the keys accepted and ignored from the Java edition, with whether they warn', () => {
    const section = docs.slice(docs.indexOf('## Accepted and ignored'));
    for (const key of listKeys(appConfigSchema).filter((k) => k.meta?.ignored)) {
      expect(section).toContain(`| \`${key.display}\` | ${key.meta?.ignored === 'warn' ? 'yes, when set' : ''}`);
    }
    expect(section).toContain('| `spring.cloud` | only for `vault.enabled: true` |');
  });

  it('documents sources, profiles, interpolation, server entries and --validate-config', () => {
    for (const heading of [
      '## Sources and precedence',
      '## Profiles',
      '## Interpolation',
      '## Server entries',
      '`--validate-config`',
    ]) {
      expect(docs).toContain(heading);
    }
  });
});
