import { existingAdminKeysLine, GENERATED_ADMIN_KEY_NAME } from './admin-key.bootstrap';

describe('existingAdminKeysLine', () => {
  it('says where the existing admin key came from and how to make a new one when it is lost', () => {
    const line = existingAdminKeysLine([
      {
        id: '6c0e2d1a-0b7e-4a53-9a43-2f8f4f3f8e01',
        name: GENERATED_ADMIN_KEY_NAME,
        prefix: 'gmcp_ERuj7Wq0',
        createdAt: new Date('2026-12-07T16:27:59.000Z'),
      },
    ]);
    expect(line).toContain('gmcp_ERuj7Wq0… (id 6c0e2d1a-0b7e-4a53-9a43-2f8f4f3f8e01; generated and printed once');
    expect(line).toContain('2026-12-07T16:27:59.000Z');
    expect(line).toContain('set GLOBALMCP_ADMIN_API_KEY to a new value');
    expect(line).toContain('DELETE /api/api-keys/{id}');
  });

  it('names keys created through the API by their name, and counts them', () => {
    const line = existingAdminKeysLine([
      { id: 'a', name: 'ops team', prefix: 'gmcp_aaaa', createdAt: new Date(0) },
      { id: 'b', name: 'ci', prefix: 'gmcp_bbbb', createdAt: new Date(0) },
    ]);
    expect(line).toMatch(/^Admin API key: none generated, 2 exist: gmcp_aaaa… \(id a; "ops team", created through/);
    expect(line).toContain('gmcp_bbbb… (id b; "ci"');
  });
});
