/** `llmux register-demo`: the demo function, for stacks whose roles run separately (the full API comes later). */
import { demoFunctionId, registerDemoFunction } from '../../control/demo-function.js';
import { FunctionCatalog, controlBucket } from '../../control/function-catalog.js';
import { connectNats } from '../../transport/nats/nats-transport.js';
import { connectAccessFrom, type NatsTlsFlags } from './nats-identity.js';

export async function registerDemo(opts: NatsTlsFlags & { nats: string; nkeySeedFile?: string; model: string }): Promise<void> {
  const transport = await connectNats({ servers: opts.nats, name: 'llmux-register-demo', ...connectAccessFrom(opts) });
  try {
    const catalog = new FunctionCatalog(await transport.keyValue(controlBucket, { history: 5 }));
    await registerDemoFunction(catalog, opts.model);
    process.stdout.write(`registered function '${demoFunctionId}' serving model '${opts.model}': clients call it as '${demoFunctionId}/${opts.model}'\n`);
  } finally {
    await transport.close();
  }
}
