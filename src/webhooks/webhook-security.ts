import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { SecretsCipher } from 'src/servers/registry/secrets-cipher';
import { UpstreamPolicy } from 'src/servers/registry/upstream-policy';

/**
 * What webhooks share with servers registered through the API: the key of secrets at rest (a webhook's signing
 * secret is sealed like a server's headers, the webhook id as additional data) and the upstream-host policy
 * (`mcp.security.allowed-upstream-hosts`; link-local/metadata addresses never).
 */
@Injectable()
export class WebhookSecurity {
  readonly policy: UpstreamPolicy;
  private readonly cipher: SecretsCipher;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const { cipher, generatedAt } = SecretsCipher.load(config.mcp.security.encryptionKey, config.mcp.dataDir);
    // Whichever of the registry and this loads the key first generates it: say so, it must be kept (and shared).
    if (generatedAt) new Logger('Webhooks').log(`generated the encryption key of secrets at rest: ${generatedAt}`);
    this.cipher = cipher;
    this.policy = new UpstreamPolicy(
      config.mcp.security.stdio.allowedCommands,
      config.mcp.security.allowedUpstreamHosts,
    );
  }

  seal(secret: string, webhookId: string): Buffer {
    return this.cipher.sealText(secret, webhookId);
  }

  open(sealed: Buffer, webhookId: string): string {
    return this.cipher.openText(sealed, webhookId);
  }
}
