/**
 * The admin commands: `llmux functions …`, `llmux workers list`, `llmux keys …`, `llmux apply -f`.
 * They talk to a running gateway's admin API (`--url`, `--admin-key`, or LLMUX_URL, LLMUX_ADMIN_KEY,
 * or the config file); handlers load only when their command runs.
 */
import { type Command, Option } from 'commander';
import { routingMethods } from '../control/routing-method-names.js';
import { collect, keyValue, nonNegativeInt } from './arg-parsers.js';

const admin = (cmd: Command): Command => cmd
  .addOption(new Option('--url <url>', 'the llmux gateway (default http://127.0.0.1:8080)'))
  .addOption(new Option('--admin-key <key>', 'the admin credential (or LLMUX_ADMIN_KEY, or "adminKey" in the config file)'))
  .addOption(new Option('--config-file <path>', 'JSON with "url" and "adminKey" (default ~/.config/llmux/config.json)'))
  .addOption(new Option('--json', 'print the server\'s JSON instead of a table'));

const modelConfig = (cmd: Command): Command => cmd
  .addOption(new Option('--routing-method <method>', 'llmConfig.routingMethod').choices(routingMethods))
  .addOption(new Option('--tokenizer <name>', 'llmConfig.tokenizer: cl100k, o200k, llama3, qwen3, gemma3, deepseek_v3 or a tokenizer.json path'))
  .addOption(new Option('--token-rate-limit <spec>', 'llmConfig.tokenRateLimit, e.g. 1000-S,50000-M'))
  .addOption(new Option('--request-rate-limit <spec>', 'llmConfig.requestRateLimit, e.g. 10-S,500-M'))
  .addOption(new Option('--context-length <n>', 'llmConfig.contextLength').argParser(nonNegativeInt))
  .addOption(new Option('--set <key=json>', 'any other llmConfig field, e.g. routing={"allowOverride":["round-robin"]}; null removes it (repeatable)').argParser(keyValue));

type Handler = (...args: never[]) => Promise<void>;
const lazy = <M>(load: () => Promise<M>, pick: (m: M) => Handler) => async (...args: unknown[]): Promise<void> => {
  // commander passes positional arguments, then the options, then the command itself.
  const fn = pick(await load()) as unknown as (...a: unknown[]) => Promise<void>;
  await fn(...args.slice(0, -1));
};
const fns = () => import('./admin/functions.js');
const wk = () => import('./admin/workers-keys.js');
const rt = () => import('./admin/routes.js');

export function addAdminCommands(program: Command): void {
  const functions = program.command('functions').description('LLM functions, their versions, model config and deployments (admin API)');
  admin(functions.command('list').description('list functions')
    .addHelpText('after', '\nExample:\n  llmux functions list --url http://127.0.0.1:8080\n')).action(lazy(fns, (m) => m.list));
  admin(functions.command('create <id>').description('create an LLM function').option('--name <name>', 'display name')
    .addHelpText('after', '\nExample:\n  llmux functions create summarize --name "Summarizer"\n')).action(lazy(fns, (m) => m.create));
  admin(functions.command('get <id>').description('a function and its versions')
    .addHelpText('after', '\nExample:\n  llmux functions get summarize\n')).action(lazy(fns, (m) => m.get));
  admin(functions.command('delete <id>').description('delete a function and all its versions')
    .addHelpText('after', '\nExample:\n  llmux functions delete summarize\n')).action(lazy(fns, (m) => m.remove));
  admin(modelConfig(functions.command('update-model <function> <version> <model>').description('change a model\'s llmConfig; applies live everywhere')))
    .addHelpText('after', '\nExamples:\n  llmux functions update-model summarize v1 llama-3.1-8b --routing-method prefix-aware --token-rate-limit 1000-S,50000-M\n  llmux functions update-model summarize v1 llama-3.1-8b --set contextLength=null\n')
    .action(lazy(fns, (m) => m.updateModel));
  admin(functions.command('deploy <function> <version>').description('deploy a version: once any version is deployed, only deployed versions serve')
    .option('--cluster <name>', 'only workers of this cluster serve it').option('--replicas <n>', 'workers wanted (reported by status)', nonNegativeInt)
    .option('--label <key=value>', 'only workers with this label serve it (repeatable)', keyValue)
    .addHelpText('after', '\nExample:\n  llmux functions deploy summarize v2 --replicas 2\n')).action(lazy(fns, (m) => m.deploy));
  admin(functions.command('undeploy <function> <version>').description('undeploy a version')
    .addHelpText('after', '\nExample:\n  llmux functions undeploy summarize v1\n')).action(lazy(fns, (m) => m.undeploy));
  admin(functions.command('status <function> <version>').description('a version\'s workers: registered, healthy, draining')
    .addHelpText('after', '\nExample:\n  llmux functions status summarize v1\n')).action(lazy(fns, (m) => m.status));

  const versions = functions.command('versions').description('versions of a function');
  admin(versions.command('list <function>').description('list a function\'s versions')
    .addHelpText('after', '\nExample:\n  llmux functions versions list summarize\n')).action(lazy(fns, (m) => m.versionsList));
  admin(modelConfig(versions.command('create <function> <version>').description('create a version serving one or more models')
    .requiredOption('--model <name>', 'a model the engines serve (repeatable)', collect)))
    .addHelpText('after', '\nExample:\n  llmux functions versions create summarize v1 --model meta-llama/Llama-3.1-8B-Instruct --tokenizer llama3 --routing-method prefix-aware\n')
    .action(lazy(fns, (m) => m.versionsCreate));
  admin(versions.command('get <function> <version>').description('one version and its models\' config')
    .addHelpText('after', '\nExample:\n  llmux functions versions get summarize v1\n')).action(lazy(fns, (m) => m.versionsGet));

  const workers = program.command('workers').description('the worker table, as the routers see it');
  admin(workers.command('list').description('workers with health, load, draining and circuit state')
    .addHelpText('after', '\nExample:\n  llmux workers list --json\n')).action(lazy(wk, (m) => m.workersList));

  const keys = program.command('keys').description('API keys (stored hashed; the secret is shown once)');
  admin(keys.command('create').description('create an API key').requiredOption('--tenant <id>', 'the tenant it bills to')
    .option('--functions <ids>', 'comma-separated function ids it may use (default all)').option('--name <name>', 'a name to find it by')
    .option('--token-rate-limit <spec>', 'its own token limit, e.g. 50000-M').option('--request-rate-limit <spec>', 'its own request limit, e.g. 10-S')
    .addHelpText('after', '\nExample:\n  llmux keys create --tenant acme --functions summarize --token-rate-limit 100000-M\n')).action(lazy(wk, (m) => m.keysCreate));
  admin(keys.command('list').description('list API keys (never their secrets)')
    .addHelpText('after', '\nExample:\n  llmux keys list\n')).action(lazy(wk, (m) => m.keysList));
  admin(keys.command('revoke <key-id>').description('revoke an API key everywhere at once')
    .addHelpText('after', '\nExample:\n  llmux keys revoke key_0123456789abcdef\n')).action(lazy(wk, (m) => m.keysRevoke));

  const backends = program.command('backends').description('providers and engines the gateway reaches directly (for routes)');
  admin(backends.command('list').description('list backends (keys are never shown)')
    .addHelpText('after', '\nExample:\n  llmux backends list\n')).action(lazy(rt, (m) => m.backendsList));
  admin(backends.command('set <name>').description('create or replace a backend')
    .requiredOption('--engine <kind>', 'engine adapter: openai, azure-openai, anthropic, vllm, sglang, tgi, ollama, …')
    .requiredOption('--backend-url <url>', 'its base URL').option('--api-key-env <VAR>', 'read its key from this environment variable (never from a flag)')
    .option('--model <name>', 'the model name to send it (default: the client\'s)').option('--option <key=value>', 'engine setting (repeatable)', keyValue)
    .addHelpText('after', '\nExample:\n  OPENAI_KEY=sk-... llmux backends set openai --engine openai --backend-url https://api.openai.com --api-key-env OPENAI_KEY\n'))
    .action(lazy(rt, (m) => m.backendsSet));
  admin(backends.command('delete <name>').description('delete a backend no route uses')
    .addHelpText('after', '\nExample:\n  llmux backends delete openai\n')).action(lazy(rt, (m) => m.backendsDelete));

  const routesCmd = program.command('routes').description('routes: client models to ordered backends with weights, retries and fallback');
  admin(routesCmd.command('list').description('list routes')
    .addHelpText('after', '\nExample:\n  llmux routes list\n')).action(lazy(rt, (m) => m.routesList));
  admin(routesCmd.command('set <name>').description('create or replace a route')
    .requiredOption('--model <name>', 'a client model name it serves (repeatable)', collect)
    .requiredOption('--backend <name[:weight[:owned_by]]>', 'a backend, in fallback order (repeatable)', collect)
    .option('--path <path>', '/v1/chat/completions or /v1/completions (repeatable; default both)', collect)
    .option('--retry-on <list>', 'comma-separated: 429, 5xx, connect-failure').option('--attempts <n>', 'attempts per backend', nonNegativeInt)
    .option('--backoff-ms <ms>', 'first backoff, doubled per attempt', nonNegativeInt)
    .option('--context-length <tokens>', 'the models\' context length: a prompt and max_tokens that cannot fit get a 400 before any backend is called', nonNegativeInt)
    .option('--tokenizer <name>', 'how prompts are counted before admission (as llmConfig.tokenizer; default: guessed from the model name)')
    .addHelpText('after', '\nExample:\n  llmux routes set gpt --model gpt-4o-mini --backend openai:3 --backend azure:1 --retry-on 429,5xx,connect-failure --attempts 2\n'))
    .action(lazy(rt, (m) => m.routesSet));
  admin(routesCmd.command('delete <name>').description('delete a route')
    .addHelpText('after', '\nExample:\n  llmux routes delete gpt\n')).action(lazy(rt, (m) => m.routesDelete));

  admin(program.command('apply').description('make the resources in a YAML file true (Function, FunctionVersion, Tenant, ApiKey, Backend, Route)')
    .requiredOption('-f, --file <path>', 'the YAML file, or - for standard input')
    .addHelpText('after', '\nExample:\n  llmux apply -f samples/end-to-end/llmux.yaml\n\nKinds: Function, FunctionVersion, Tenant, ApiKey, Backend, Route (docs/api.md).\n'))
    .action(lazy(() => import('./admin/apply.js'), (m) => m.apply));
}
