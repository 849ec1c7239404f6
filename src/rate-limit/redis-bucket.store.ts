import type { RedisClientType } from '@keyv/redis';
import { createHash } from 'node:crypto';
import { EPSILON, refillPerMs, resultFor, type BucketLimits, type BucketStore, type TakeResult } from './token-bucket';

/**
 * `takeToken` (token-bucket.ts) as one Lua script, so that read-refill-take-write is atomic in Redis and every
 * replica draws from the same bucket. The clock is Redis' own (TIME): replicas whose clocks disagree still refill
 * a bucket consistently. The key expires once the bucket would be full again (a new bucket starts full anyway).
 * Returns {allowed, tokens left (as a string: Redis truncates Lua numbers to integers)}.
 */
export const TAKE_TOKEN_SCRIPT = `
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
else
  local elapsed = now - ts
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(capacity, tokens + elapsed * per_ms)
end
local allowed = 0
if tokens >= 1 - ${EPSILON} then
  tokens = math.max(0, tokens - 1)
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / per_ms) + 1000)
return {allowed, string.format('%.17g', tokens)}
`;

const SCRIPT_SHA = createHash('sha1').update(TAKE_TOKEN_SCRIPT).digest('hex');

/** Buckets in Redis, shared by every replica that uses the same Redis and key prefix. */
export class RedisBucketStore implements BucketStore {
  constructor(
    private readonly client: RedisClientType,
    private readonly keyPrefix: string,
  ) {}

  async take(key: string, limits: BucketLimits): Promise<TakeResult> {
    const options = {
      keys: [`${this.keyPrefix}${key}`],
      arguments: [String(limits.burstCapacity), String(refillPerMs(limits))],
    };
    let reply: unknown;
    try {
      reply = await this.client.evalSha(SCRIPT_SHA, options);
    } catch (error) {
      // First use on this Redis (or after SCRIPT FLUSH / a restart): send the script itself once.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      reply = await this.client.eval(TAKE_TOKEN_SCRIPT, options);
    }
    const [allowed, tokens] = reply as [number, string];
    return resultFor(allowed === 1, Number(tokens), limits);
  }
}
