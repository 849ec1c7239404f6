import { loadConfig } from 'src/config/config.loader';
import { serverEntrySchema } from 'src/config/config.schema';
import { MASK, maskSecrets, maskUrl } from 'src/config/mask-secrets';

describe('maskUrl', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/x', 'postgres://app:***@db:5432/x'],
    ['jdbc:postgresql://app:s3cret@db/x', 'jdbc:postgresql://app:***@db/x'],
    ['redis://:s3cret@cache:6379/0', 'redis://:***@cache:6379/0'],
    [
      'jdbc:postgresql://db/x?user=app&password=s3cret&ssl=true',
      'jdbc:postgresql://db/x?user=app&password=***&ssl=true',
    ],
    ['see https://u:p@a.example and https://v:q@b.example', 'see https://u:***@a.example and https://v:***@b.example'],
  ])('masks %s', (input, expected) => {
    expect(maskUrl(input)).toBe(expected);
  });

  it('leaves URLs without a password alone', () => {
    for (const text of [
      'postgres://app@db/x',
      'https://example.com/a:b',
      'redis-service',
      'jdbc:postgresql://postgres-service:5432/globalmcp',
    ]) {
      expect(maskUrl(text)).toBe(text);
    }
  });
});

describe('maskSecrets', () => {
  const config = loadConfig({
    appRoot: '/nonexistent',
    env: {
      JWT_SECRET: 'jwt-secret-value',
      SPRING_DATASOURCE_URL: 'postgres://app:dbpass@db/x',
      SPRING_DATASOURCE_PASSWORD: 'dbpass2',
      REDIS_URL: 'redis://:redispass@cache:6379',
      SERVER_SSL_KEY_STORE_PASSWORD: 'kspass',
      MCP_SERVERS_M_TYPE: 'stdio',
      MCP_SERVERS_M_COMMAND: 'node',
      MCP_SERVERS_M_ARGS: 'server.js,--db=postgres://u:argpass@h/x',
      MCP_SERVERS_M_ENVIRONMENT_TOKEN: 'envtoken',
      MCP_SERVERS_W_TYPE: 'http',
      MCP_SERVERS_W_URL: 'https://w.example/mcp',
      MCP_SERVERS_W_HEADERS_AUTHORIZATION: 'Bearer headertoken',
    },
  }).config;

  it('masks every sensitive key, map values and URL passwords', () => {
    const masked = maskSecrets(config);
    expect(masked.mcp.security.jwt.secret).toBe(MASK);
    expect(masked.spring.datasource.url).toBe('postgres://app:***@db/x');
    expect(masked.spring.datasource.password).toBe(MASK);
    expect(masked.spring.data.redis.url).toBe(MASK);
    expect(masked.server.ssl.keyStorePassword).toBe(MASK);
    expect(masked.mcp.servers.m?.environment).toEqual({ TOKEN: MASK });
    expect(masked.mcp.servers.m?.args).toEqual(['server.js', '--db=postgres://u:***@h/x']);
    expect(masked.mcp.servers.w?.headers).toEqual({ AUTHORIZATION: MASK });
    const text = JSON.stringify(masked);
    for (const secret of ['jwt-secret-value', 'dbpass', 'redispass', 'kspass', 'envtoken', 'headertoken', 'argpass']) {
      expect(text).not.toContain(secret);
    }
  });

  it('keeps everything else, leaves unset secrets unset and does not touch the original', () => {
    const masked = maskSecrets(config);
    expect(masked.server.port).toBe(config.server.port);
    expect(masked.mcp.security.adminApiKey).toBeUndefined();
    expect(masked.mcp.servers.w?.url).toBe('https://w.example/mcp');
    expect(config.mcp.security.jwt.secret).toBe('jwt-secret-value');
    expect(Object.isFrozen(masked)).toBe(false);
  });

  it('masks a slice given its schema, and environment/headers maps in any object', () => {
    const entry = serverEntrySchema.parse({ type: 'stdio', command: 'x', environment: { A: '1' } });
    expect(maskSecrets(entry, serverEntrySchema).environment).toEqual({ A: MASK });
    expect(maskSecrets({ configuration: { headers: { 'X-Api-Key': 'k' }, environment: { B: 'v' } } })).toEqual({
      configuration: { headers: { 'X-Api-Key': MASK }, environment: { B: MASK } },
    });
  });
});
