/**
 * Whether the gateway requires credentials: a setting of the deployment, never inferred from how
 * many keys exist (inferring it once let the revocation of the last key switch authentication off).
 */
export const authModes = ['required', 'off'] as const;
/** `required`: no credential, 401. `off`: a caller without one is tenant `anonymous`. */
export type AuthMode = (typeof authModes)[number];

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');

export interface Deployment {
  /** The gateway's bind address. */
  host: string;
  staticKeys: number;
  jwt: boolean;
  /**
   * The gateway reads keys from a control plane it did not create (an external NATS): keys made
   * before it started, or by other gateways, may exist, so callers must be checked against them.
   */
  sharedKeyStore: boolean;
}

/**
 * The mode when none is given: required whenever any key source is configured or the gateway
 * listens beyond loopback. Only a self-contained local stack (its own fresh NATS, 127.0.0.1, no
 * keys configured) runs open, and says so.
 */
export function defaultAuthMode(d: Deployment): AuthMode {
  return d.staticKeys > 0 || d.jwt || d.sharedKeyStore || !isLoopback(d.host) ? 'required' : 'off';
}
