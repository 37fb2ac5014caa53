/**
 * Which limits apply to a request: the key's own, its tenant's, the model's (`llmConfig`
 * `tokenRateLimit` / `requestRateLimit`), and one per header selector (`llmConfig.rateLimitSelectors`:
 * a limit per distinct value of a header, e.g. `x-claim-name`). Each becomes a bucket in the limiter.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { LlmConfig } from '../control/function.schema.js';
import type { TenantRecord } from './api-key-store.js';
import type { BucketRef } from './limiter-state.js';
import type { Principal } from './principal.js';

function add(out: BucketRef[], scope: string, tokens: string | undefined, requests: string | undefined): void {
  if (tokens) out.push({ scope, spec: tokens, counts: 'tokens' });
  if (requests) out.push({ scope, spec: requests, counts: 'requests' });
}

const selectorValue = (headers: IncomingHttpHeaders, header: string): string | undefined => {
  const value = headers[header.toLowerCase()];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/**
 * The header of the first `required` selector the request lacks. Such a request is refused: without
 * the header it would escape that selector's limit. A client can still change the value, so the
 * header must come from a trusted proxy that overwrites it (docs/policy.md).
 */
export function missingSelectorHeader(llmConfig: LlmConfig, headers: IncomingHttpHeaders): string | undefined {
  const missing = (llmConfig.rateLimitSelectors ?? []).find((s) => s.required && !selectorValue(headers, s.header));
  return missing?.header.toLowerCase();
}

export function limitBuckets(principal: Principal, tenant: TenantRecord | undefined, functionId: string, model: string,
  llmConfig: LlmConfig, headers: IncomingHttpHeaders): BucketRef[] {
  const out: BucketRef[] = [];
  add(out, `key:${principal.keyId}`, principal.tokenRateLimit, principal.requestRateLimit);
  add(out, `tenant:${principal.tenant}`, tenant?.tokenRateLimit, tenant?.requestRateLimit);
  add(out, `model:${functionId}/${model}`, llmConfig.tokenRateLimit, llmConfig.requestRateLimit);
  for (const selector of llmConfig.rateLimitSelectors ?? []) {
    const value = selectorValue(headers, selector.header);
    if (value === undefined) continue;
    add(out, `header:${functionId}/${model}:${selector.header.toLowerCase()}=${value}`, selector.tokenRateLimit, selector.requestRateLimit);
  }
  return out;
}
