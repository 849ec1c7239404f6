import { requestedServers } from './auth.guard';

describe('requestedServers (what the server allow-list of a key is checked against)', () => {
  it("takes the route's server path parameter, and nothing else, when the route has one", () => {
    // POST /api/servers/{id}/tools/{tool}: the body is the tool's arguments; an argument named server_id is no server.
    expect(
      requestedServers(
        { params: { id: 'alpha', tool: 'deploy' }, query: { server_id: 'beta' }, body: { server_id: 'gamma' } },
        'id',
      ),
    ).toEqual(['alpha']);
  });

  it('takes server_id from the query and from a JSON object body on routes without one', () => {
    expect(requestedServers({ params: {}, query: { server_id: 'alpha' }, body: { server_id: 'beta' } })).toEqual([
      'alpha',
      'beta',
    ]);
    expect(requestedServers({ params: {}, query: {}, body: [{ server_id: 'beta' }] })).toEqual([]);
    expect(requestedServers({ params: {}, query: {}, body: { server_id: 42 } })).toEqual([]);
    expect(requestedServers({ params: undefined, query: undefined, body: undefined })).toEqual([]);
  });
});
