import type { OpenAPIObject, OperationObject } from '@nestjs/swagger';
import { SECURITY_SCHEMES } from 'src/auth/authenticated.decorator';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type SecurityRequirement = Record<string, string[]>;

/** The scopes an operation needs: the list its requirements carry (every scheme of an operation lists the same). */
export function requiredScopes(operation: OperationObject): string[] {
  const requirements = (operation.security ?? []) as SecurityRequirement[];
  for (const requirement of requirements) {
    const scopes = Object.values(requirement).find((list) => list.length > 0);
    if (scopes) return scopes;
  }
  return [];
}

/**
 * The security of the document as a reader should see it. `@Authenticated` lists the route's scopes under the
 * `oauth2` requirement only; here every scheme's requirement carries them (OpenAPI 3.1 allows role names for any
 * scheme type), so the scopes stay in the document when no OAuth2 issuer is configured and the `oauth2` scheme is
 * left out: Swagger UI would otherwise offer an "Authorize" box for tokens the gateway does not accept.
 */
export function withSecurityRequirements(document: OpenAPIObject, oauth2Accepted: boolean): OpenAPIObject {
  const paths = Object.fromEntries(
    Object.entries(document.paths).map(([path, item]) => {
      const updated = { ...item };
      for (const method of HTTP_METHODS) {
        const operation = item[method];
        if (!operation?.security || operation.security.length === 0) continue;
        const scopes = requiredScopes(operation);
        const schemes = (operation.security as SecurityRequirement[])
          .flatMap((requirement) => Object.keys(requirement))
          .filter((scheme) => oauth2Accepted || scheme !== SECURITY_SCHEMES.oauth2);
        updated[method] = { ...operation, security: schemes.map((scheme) => ({ [scheme]: [...scopes] })) };
      }
      return [path, updated];
    }),
  );
  const securitySchemes = { ...document.components?.securitySchemes };
  if (!oauth2Accepted) delete securitySchemes[SECURITY_SCHEMES.oauth2];
  return { ...document, paths, components: { ...document.components, securitySchemes } };
}
