import type { ServerContext } from '@modelcontextprotocol/server';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RedisConnection } from 'src/cache/redis-connection';
import type { AppConfig } from 'src/config/config.schema';
import { McpSessionBus } from '../mcp-session.bus';
import { type InputCall, InputRounds } from './input-rounds';
import { type RoundState, RequestStates } from './request-state';

const ELICIT = { mode: 'form', message: 'Name?', requestedSchema: { type: 'object', properties: {} } };
const ACCEPT = { action: 'accept', content: { name: 'Alice' } };

interface Answer {
  resultType?: string;
  requestState?: string;
  inputRequests?: Record<string, unknown>;
  content?: { text: string }[];
}

/** A request as the SDK hands it to a handler: its verified state (the seam ran `verify`), responses, envelope. */
function ctxOf(input: { state?: RoundState; responses?: Record<string, unknown>; principal?: string }): ServerContext {
  return {
    mcpReq: {
      id: 1,
      method: 'tools/call',
      requestState: () => input.state,
      inputResponses: input.responses,
      envelope: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } },
      notify: () => Promise.resolve(),
    },
    http: {
      authInfo: { token: '', clientId: input.principal ?? 'key:1', scopes: [] },
      req: new Request('http://gateway/mcp/fixture'),
    },
  } as unknown as ServerContext;
}

/** The upstream: asks the client for a name mid-call, then answers with it. */
const upstream = async (call: InputCall) => {
  const answer = await call.origin!.request('elicitation/create', ELICIT, call.signal!);
  return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
};

/**
 * Two replicas' InputRounds with real RequestStates (one key of secrets at rest) and real session buses: one shared
 * bus stands for Redis; a bus each (no Redis client) is what a replica has while Redis is away.
 */
describe('InputRounds across replicas', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'input-rounds-'));
  const key = randomBytes(32).toString('base64');
  /** Rounds of 5 s: longer than a relayed retry takes to find no holder (3 s); the last test shortens them. */
  const configWith = (roundMs: number) =>
    ({
      mcp: {
        dataDir: dir,
        client: { defaultTimeout: roundMs },
        endpoint: { forwardClientCapabilities: true },
        security: { encryptionKey: key },
      },
      spring: { cache: { redis: { keyPrefix: 'unit:' } } },
    }) as unknown as AppConfig;
  const config = configWith(5000);
  const states = new RequestStates(config);
  const newBus = () => new McpSessionBus(config, { client: null } as RedisConnection);
  const replica = (bus: McpSessionBus, roundMs?: number) => {
    const rounds = roundMs
      ? new InputRounds(configWith(roundMs), new RequestStates(configWith(roundMs)), bus)
      : new InputRounds(config, states, bus);
    rounds.onModuleInit();
    return rounds;
  };
  const replicas: InputRounds[] = [];
  const never = new AbortController().signal;

  afterAll(() => {
    for (const r of replicas) r.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Round 1 on `first`; the retry's context with the state verified as the SDK seam does. */
  async function firstRound(first: InputRounds, principal?: string) {
    const asked = (await first.serve(ctxOf({}), 'ask', never, upstream)) as Answer;
    expect(asked).toMatchObject({ resultType: 'input_required' });
    const [key] = Object.keys(asked.inputRequests!);
    const state = await states.verify(asked.requestState!, ctxOf({ principal }));
    return ctxOf({ state, responses: { [key!]: ACCEPT }, principal });
  }

  it('resumes on one replica a call held by another, over the shared bus', async () => {
    const bus = newBus();
    const [a, b] = [replica(bus), replica(bus)];
    replicas.push(a, b);
    const retry = await firstRound(a);
    const done = (await b.serve(retry, 'ask', never, upstream)) as Answer;
    expect(done.content![0]!.text).toContain('Alice');
  });

  it('without a shared bus (Redis away) the other replica finds nothing pending; the holder still resumes it', async () => {
    const [a, b] = [replica(newBus()), replica(newBus())];
    replicas.push(a, b);
    const retry = await firstRound(a);
    await expect(b.serve(retry, 'ask', never, upstream)).rejects.toThrow(/no longer pending/);
    const done = (await a.serve(retry, 'ask', never, upstream)) as Answer;
    expect(done.content![0]!.text).toContain('Alice');
  }, 10_000);

  it('refuses a retry for another target and a state bound to another principal', async () => {
    const a = replica(newBus());
    replicas.push(a);
    const retry = await firstRound(a);
    await expect(a.serve(retry, 'other-tool', never, upstream)).rejects.toThrow(/another target/);
    const asked = (await a.serve(ctxOf({}), 'ask', never, upstream)) as Answer;
    await expect(states.verify(asked.requestState!, ctxOf({ principal: 'key:2' }))).rejects.toThrow('bind');
  });

  it('gives up a round nobody answers: the upstream call is cancelled', async () => {
    const a = replica(newBus(), 1000);
    replicas.push(a);
    let signal: AbortSignal | undefined;
    await a.serve(ctxOf({}), 'ask', never, (call) => {
      signal = call.signal;
      return upstream(call);
    });
    expect(signal!.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(signal!.aborted).toBe(true);
  }, 10_000);
});
