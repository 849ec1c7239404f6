import { McpError, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import type { ServerContext } from '@modelcontextprotocol/server';
import { modernUrlElicitation, urlElicitationsOf } from './url-elicitation';

const URL_ = 'https://gw.example/api/connections/start?link=abc';
const refusal = () =>
  new UrlElicitationRequiredError([{ mode: 'url', elicitationId: 'n1', url: URL_, message: 'authorise' }], 'authorise');
const declaring = (capabilities: Record<string, unknown>) =>
  ({
    mcpReq: { envelope: { 'io.modelcontextprotocol/clientCapabilities': capabilities } },
  }) as unknown as ServerContext;

describe('URL elicitation on 2026-07-28', () => {
  it('reads the elicitations of a -32042 error only', () => {
    expect(urlElicitationsOf(refusal())).toEqual([
      { mode: 'url', elicitationId: 'n1', url: URL_, message: 'authorise' },
    ]);
    expect(urlElicitationsOf(new McpError(-32600, 'other'))).toBeUndefined();
    expect(urlElicitationsOf(new Error('x'))).toBeUndefined();
  });

  it('answers input_required with a URL-mode elicitation/create to a client that declared URL elicitation', () => {
    const modern = modernUrlElicitation(refusal(), declaring({ elicitation: { url: {} } }));
    expect(modern).toEqual({
      answer: {
        resultType: 'input_required',
        inputRequests: {
          'connect-n1': { method: 'elicitation/create', params: { mode: 'url', url: URL_, message: 'authorise' } },
        },
      },
    });
  });

  it('gives a client without URL elicitation (form only, or nothing) -32600 naming the URL, and leaves others alone', () => {
    for (const ctx of [declaring({ elicitation: {} }), declaring({}), undefined]) {
      const modern = modernUrlElicitation(refusal(), ctx) as { error: McpError };
      expect(modern.error.code).toBe(-32600);
      expect(modern.error.data).toEqual({
        code: 'UPSTREAM_AUTHORIZATION_REQUIRED',
        details: { authorization_url: URL_ },
      });
    }
    const other = new McpError(-32602, 'bad');
    expect(modernUrlElicitation(other, declaring({ elicitation: { url: {} } }))).toEqual({ error: other });
  });
});
