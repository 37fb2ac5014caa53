/**
 * The CLI's client for the admin API. Where to find the gateway and the admin key: flags, then the
 * environment (`LLMUX_URL`, `LLMUX_ADMIN_KEY`), then a config file (`--config-file`, default
 * `~/.config/llmux/config.json`: `{"url": "...", "adminKey": "..."}`). Errors carry the server's message.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface AdminFlags {
  url?: string;
  adminKey?: string;
  configFile?: string;
  json?: boolean;
}

export const defaultConfigFile = (): string => join(homedir(), '.config', 'llmux', 'config.json');

function fromConfigFile(path: string, explicit: boolean): { url?: string; adminKey?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (explicit) throw new Error(`cannot read --config-file ${path}: ${(error as Error).message}`);
    return {};
  }
  if (text.trim() === '') return {};
  try {
    const parsed = JSON.parse(text) as { url?: unknown; adminKey?: unknown };
    return { ...(typeof parsed.url === 'string' ? { url: parsed.url } : {}), ...(typeof parsed.adminKey === 'string' ? { adminKey: parsed.adminKey } : {}) };
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

export class AdminClient {
  readonly url: string;
  readonly #key: string | undefined;

  constructor(flags: AdminFlags) {
    const file = fromConfigFile(flags.configFile ?? defaultConfigFile(), flags.configFile !== undefined);
    this.url = (flags.url ?? process.env.LLMUX_URL ?? file.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    this.#key = flags.adminKey ?? process.env.LLMUX_ADMIN_KEY ?? file.adminKey;
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.#key) throw new Error('no admin key: pass --admin-key, set LLMUX_ADMIN_KEY, or put "adminKey" in the config file');
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.#key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new Error(`cannot reach llmux at ${this.url}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message} (set --url or LLMUX_URL)`);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const err = (parsed as { error?: { message?: string; param?: string } } | undefined)?.error;
      throw new Error(`${res.status}: ${err?.message ?? text}${err?.param ? ` (field: ${err.param})` : ''}`);
    }
    return parsed as T;
  }
}

export const enc = encodeURIComponent;
