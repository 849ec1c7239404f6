import { createCache } from 'cache-manager';
import Keyv from 'keyv';
import { failoverKeyv } from './failover-keyv';

describe('failoverKeyv', () => {
  it('reads and writes the shared store while it is up, memory while it is down, and the shared one again after', async () => {
    const shared = new Keyv();
    let up = true;
    const cache = createCache({ stores: [failoverKeyv(shared, () => up)] });

    await cache.set('tool-definitions:a', ['shared']);
    expect(await shared.get('tool-definitions:a')).toEqual(['shared']);

    up = false;
    expect(await cache.get('tool-definitions:a')).toBeUndefined(); // the shared store is not reachable
    await cache.set('tool-definitions:a', ['outage']);
    expect(await cache.get('tool-definitions:a')).toEqual(['outage']);
    expect(await shared.get('tool-definitions:a')).toEqual(['shared']); // nothing reached it

    up = true;
    expect(await cache.get('tool-definitions:a')).toEqual(['shared']);
    up = false;
    // What was written during the last outage was dropped when the shared store came back.
    expect(await cache.get('tool-definitions:a')).toBeUndefined();
  });

  it('keeps TTLs in memory too', async () => {
    const cache = createCache({ stores: [failoverKeyv(new Keyv(), () => false)] });
    await cache.set('k', 'v', 20);
    expect(await cache.get('k')).toBe('v');
    await new Promise((r) => setTimeout(r, 40));
    expect(await cache.get('k')).toBeUndefined();
  });
});
