/** Who is calling: what authentication established, and what the rest of the gateway checks against. */
export interface Principal {
  tenant: string;
  /** The API key's id, or `jwt:<sub>` for a bearer token, or `static` for a `--api-key` key. */
  keyId: string;
  /** Function ids this caller may use; `*` for all. */
  functions: readonly string[];
  via: 'anonymous' | 'static-key' | 'api-key' | 'jwt';
  /** Limits attached to the key itself (limit-spec.ts syntax). */
  tokenRateLimit?: string;
  requestRateLimit?: string;
}

export const anonymous: Principal = { tenant: 'anonymous', keyId: 'anonymous', functions: ['*'], via: 'anonymous' };

export function mayUse(principal: Principal, functionId: string): boolean {
  return principal.functions.includes('*') || principal.functions.includes(functionId);
}
