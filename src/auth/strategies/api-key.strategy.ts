import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { ApiKeysService } from '../api-keys/api-keys.service';
import type { Principal } from '../principal';

export const API_KEY_STRATEGY = 'api-key';
export const API_KEY_HEADER = 'X-API-Key';

/** `X-API-Key: <key>`: a key created through /api/api-keys (or the bootstrap admin key). */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, API_KEY_STRATEGY) {
  constructor(private readonly apiKeys: ApiKeysService) {
    super({ header: API_KEY_HEADER, prefix: '' }, false);
  }

  validate(apiKey: string): Promise<Principal> {
    return this.apiKeys.authenticate(apiKey);
  }
}
