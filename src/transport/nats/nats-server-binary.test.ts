import { describe, expect, it } from 'vitest';
import { ensureNatsServerBinary, findNatsServerBinary, NatsServerMissingError } from './nats-server-binary.js';

describe('nats-server binary', () => {
  it('is found on this machine', () => {
    expect(findNatsServerBinary()).toMatch(/nats-server$/);
  });

  it('says how to install it when it is missing and installing is not allowed', async () => {
    const error = await ensureNatsServerBinary({ install: false, paths: ['/nonexistent/nats-server'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NatsServerMissingError);
    expect((error as Error).message).toContain('apt-get install nats-server');
    expect((error as Error).message).toContain('--nats URL');
  });
});
