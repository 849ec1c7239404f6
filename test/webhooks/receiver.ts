import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyDelivery } from 'src/webhooks/webhook-signature';

export interface ReceivedDelivery {
  id: string;
  event: string;
  body: { id: string; event: string; created_at: string; data: Record<string, unknown> };
  headers: Record<string, string | string[] | undefined>;
  /** The signature checked against the secret, as a receiver would. */
  signatureValid: boolean;
}

/** A webhook receiver on loopback: checks each delivery's signature, keeps what came, answers `status`. */
export class TestReceiver {
  readonly received: ReceivedDelivery[] = [];
  status = 200;
  /** Delay before answering (ms). */
  delayMs = 0;
  private server: Server | undefined;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  port = 0;

  /** Listens on `port` (0: a free one, kept for later restarts). */
  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const timestamp = String(req.headers['x-globalmcp-timestamp'] ?? '');
        const signature = String(req.headers['x-globalmcp-signature'] ?? '');
        const body = JSON.parse(raw) as ReceivedDelivery['body'];
        this.received.push({
          id: String(req.headers['x-globalmcp-delivery']),
          event: String(req.headers['x-globalmcp-event']),
          body,
          headers: req.headers,
          signatureValid: verifyDelivery(this.secret, timestamp, raw, signature),
        });
        setTimeout(() => {
          res.statusCode = this.status;
          res.end('ok');
        }, this.delayMs);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  of(event: string): ReceivedDelivery[] {
    return this.received.filter((r) => r.event === event);
  }
}
