import { createHmac } from 'node:crypto';
import { signDelivery, verifyDelivery } from './webhook-signature';

describe('webhook signature', () => {
  const body = JSON.stringify({ id: 'd1', event: 'tool.executed', data: { n: 1 } });

  it('is sha256= and the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', 'secret-0123456789').update(`1700000000.${body}`).digest('hex');
    expect(signDelivery('secret-0123456789', '1700000000', body)).toBe(`sha256=${expected}`);
  });

  it('verifies with the same secret, timestamp and body only', () => {
    const signature = signDelivery('secret-0123456789', '1700000000', body);
    expect(verifyDelivery('secret-0123456789', '1700000000', body, signature)).toBe(true);
    expect(verifyDelivery('other-secret-000000', '1700000000', body, signature)).toBe(false);
    expect(verifyDelivery('secret-0123456789', '1700000001', body, signature)).toBe(false);
    expect(verifyDelivery('secret-0123456789', '1700000000', `${body} `, signature)).toBe(false);
    expect(verifyDelivery('secret-0123456789', '1700000000', body, 'sha256=00')).toBe(false);
  });
});
