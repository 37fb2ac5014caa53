/** The gateway's policy flags (`llmux up`, `llmux gateway`) as gateway options, checked together. */
import { type AuthMode, defaultAuthMode } from '../../policy/auth-mode.js';
import type { JwtOptions } from '../../policy/jwt-auth.js';

export interface PolicyFlags {
  /** `--auth`; when absent, defaultAuthMode decides from what the deployment is. */
  auth?: AuthMode;
  host: string;
  apiKey?: string[];
  /** An external NATS: its control plane may already hold keys. */
  nats?: string;
  adminKey?: string;
  limiterFail: 'open' | 'closed';
  defaultMaxTokens: number;
  limiterTimeoutMs: number;
  jwtIssuer?: string;
  jwtAudience?: string;
  jwks?: string;
  jwtTenantClaim: string;
  jwtAllowNoExp?: boolean;
}

export interface Policy {
  auth: AuthMode;
  adminKey?: string;
  jwt?: JwtOptions;
  limiter: { failMode: 'open' | 'closed'; defaultMaxTokens: number; timeoutMs: number };
}

export function policyFromFlags(flags: PolicyFlags): Policy {
  const jwtFlags = { '--jwt-issuer': flags.jwtIssuer, '--jwt-audience': flags.jwtAudience, '--jwks': flags.jwks };
  const given = Object.entries(jwtFlags).filter(([, v]) => v !== undefined);
  if (given.length > 0 && given.length < 3) {
    const missing = Object.entries(jwtFlags).filter(([, v]) => v === undefined).map(([k]) => k);
    throw new Error(`JWT authentication needs --jwt-issuer, --jwt-audience and --jwks together; missing ${missing.join(', ')}`);
  }
  if (flags.jwtAllowNoExp && given.length === 0) throw new Error('--jwt-allow-no-exp needs JWT authentication: --jwt-issuer, --jwt-audience and --jwks');
  const jwt: JwtOptions | undefined = given.length === 3
    ? { issuer: flags.jwtIssuer as string, audience: flags.jwtAudience as string, jwks: flags.jwks as string, tenantClaim: flags.jwtTenantClaim,
      ...(flags.jwtAllowNoExp ? { allowNoExp: true } : {}) }
    : undefined;
  return {
    auth: flags.auth ?? defaultAuthMode({ host: flags.host, staticKeys: flags.apiKey?.length ?? 0, jwt: jwt !== undefined, sharedKeyStore: flags.nats !== undefined }),
    ...(flags.adminKey ? { adminKey: flags.adminKey } : {}),
    ...(jwt ? { jwt } : {}),
    limiter: { failMode: flags.limiterFail, defaultMaxTokens: flags.defaultMaxTokens, timeoutMs: flags.limiterTimeoutMs },
  };
}
