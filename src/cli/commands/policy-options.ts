/** The gateway's policy flags (`llmux up`, `llmux gateway`) as gateway options, checked together. */
import type { JwtOptions } from '../../policy/jwt-auth.js';

export interface PolicyFlags {
  adminKey?: string;
  limiterFail: 'open' | 'closed';
  defaultMaxTokens: number;
  limiterTimeoutMs: number;
  jwtIssuer?: string;
  jwtAudience?: string;
  jwks?: string;
  jwtTenantClaim: string;
}

export function policyFromFlags(flags: PolicyFlags): { adminKey?: string; jwt?: JwtOptions; limiter: { failMode: 'open' | 'closed'; defaultMaxTokens: number; timeoutMs: number } } {
  const jwtFlags = { '--jwt-issuer': flags.jwtIssuer, '--jwt-audience': flags.jwtAudience, '--jwks': flags.jwks };
  const given = Object.entries(jwtFlags).filter(([, v]) => v !== undefined);
  if (given.length > 0 && given.length < 3) {
    const missing = Object.entries(jwtFlags).filter(([, v]) => v === undefined).map(([k]) => k);
    throw new Error(`JWT authentication needs --jwt-issuer, --jwt-audience and --jwks together; missing ${missing.join(', ')}`);
  }
  return {
    ...(flags.adminKey ? { adminKey: flags.adminKey } : {}),
    ...(given.length === 3
      ? { jwt: { issuer: flags.jwtIssuer as string, audience: flags.jwtAudience as string, jwks: flags.jwks as string, tenantClaim: flags.jwtTenantClaim } }
      : {}),
    limiter: { failMode: flags.limiterFail, defaultMaxTokens: flags.defaultMaxTokens, timeoutMs: flags.limiterTimeoutMs },
  };
}
