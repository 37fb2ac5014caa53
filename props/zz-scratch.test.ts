import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import type { LocalStack } from '../src/launch/local-stack.js';
import { startTestStack, testApiKey } from '../test/support/stack.js';
import { sendRaw, type RawRequest } from './raw-http.js';

let stack: LocalStack;
const logs: string[] = [];
beforeAll(async () => {
  stack = await startTestStack({ log: pino({ level: 'warn' }, { write: (l: string) => void logs.push(l) }) });
});
afterAll(async () => { await stack?.stop(); });

const req = (over: Partial<RawRequest>): RawRequest => ({ method: 'POST', target: '/v1/chat/completions', headers: [['host', 'x'], ['authorization', `Bearer ${testApiKey}`], ['content-type', 'application/json']], body: Buffer.alloc(0), halfClose: false, ...over });
const show = (o: any) => o.kind === 'answer' ? `${o.status} ${o.ms}ms ${JSON.stringify(o.headers).slice(0,200)} ${o.body.toString().slice(0, 300)}` : JSON.stringify(o);

it('explores', async () => {
  const port = stack.gateway.port;
  const body = Buffer.from(JSON.stringify({ model: stack.models[0], messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }));
  console.log('valid', show(await sendRaw(port, req({ headers: [...req({}).headers, ['content-length', String(body.length)], ['connection', 'close']], body }), 10000)));
  console.log('cl lie short halfclose', show(await sendRaw(port, req({ headers: [...req({}).headers, ['content-length', String(body.length + 10)]], body, halfClose: true }), 10000)));
  console.log('cl lie long', show(await sendRaw(port, req({ headers: [...req({}).headers, ['content-length', String(body.length - 5)]], body }), 10000)));
  console.log('no cl', show(await sendRaw(port, req({ body }), 5000)));
  console.log('no cl halfclose', show(await sendRaw(port, req({ body, halfClose: true }), 5000)));
  console.log('ctl in x-request-id', show(await sendRaw(port, req({ method: 'GET', target: '/v1/models', headers: [...req({}).headers, ['x-request-id', 'a\x01b']] }), 5000)));
  console.log('streams junk short', show(await sendRaw(port, req({ method: 'GET', target: '/v1/streams/abc' }), 10000)));
  console.log('streams junk 5000', show(await sendRaw(port, req({ method: 'GET', target: '/v1/streams/' + '%2e'.repeat(3000) }), 10000)));
  console.log('ready', show(await sendRaw(port, req({ method: 'GET', target: '/ready' }), 5000)));
  await new Promise((r) => setTimeout(r, 500));
  console.log('ready', show(await sendRaw(port, req({ method: 'GET', target: '/ready' }), 5000)));
  console.log('valid', show(await sendRaw(port, req({ headers: [...req({}).headers, ['content-length', String(body.length)], ['connection', 'close']], body }), 10000)));
  const deep = Buffer.from('{"model":"demo/llmux-sim-8b","messages":' + '['.repeat(10000) + ']'.repeat(10000) + '}');
  console.log('deep', show(await sendRaw(port, req({ headers: [...req({}).headers, ['content-length', String(deep.length)]], body: deep }), 10000)));
  console.log('logs', logs.join('').slice(0, 3000));
}, 60000);
