/**
 * The `llmux` command. Subcommand modules are imported only when their command runs, so
 * `llmux --help` starts in tens of milliseconds.
 */
import { Command, Option } from 'commander';
import { routingMethods } from '../control/routing-method-names.js';
import { defaultHttpLimits } from '../actors/gateway/http-limits.js';
import { authModes } from '../policy/auth-mode.js';
import { addAdminCommands } from './admin-commands.js';
import { collect, keyValue, nonNegative, nonNegativeInt, port, positiveInt } from './arg-parsers.js';

const program = new Command();

const engineOption = () => new Option('--engine <kind>', 'engine adapter: vllm, sglang, sglang-generate, trtllm, llamacpp, tgi, triton, ollama, openai, azure-openai, anthropic').default('vllm');
const engineSettingOption = () => new Option('--engine-option <key=value>', 'engine-specific setting, e.g. api-version=2024-10-21 for azure-openai, kv-events=tcp://127.0.0.1:5557 for vllm or sglang to relay its KV events (repeatable)').argParser(keyValue);

/** A role's cluster: a router hears only its cluster's workers and spills to other clusters; a worker registers in it. */
const clusterOption = () => new Option('--cluster <name>', 'the cluster this process runs in: routers hear only its workers and prefer them, workers register in it').env('LLMUX_CLUSTER').default('local');
const adminKeyOption = () => new Option('--admin-key <key>', 'the admin credential for /admin/api (keys, tenants, decisions, workers)').env('LLMUX_ADMIN_KEY');
const policyOptions = (command: Command): Command => command
  .addOption(adminKeyOption())
  .addOption(new Option('--limiter-fail <mode>', 'when the rate limiter does not answer: admit (open) or refuse with 503 (closed)').choices(['open', 'closed']).default('open'))
  .addOption(new Option('--default-max-tokens <n>', 'completion tokens reserved for a request without max_tokens').default(1024).argParser(positiveInt))
  .addOption(new Option('--limiter-timeout-ms <ms>', 'how long admission waits for the rate limiter before --limiter-fail applies').default(500).argParser(positiveInt))
  .addOption(new Option('--jwt-issuer <iss>', 'accept bearer JWTs from this issuer (with --jwt-audience and --jwks)'))
  .addOption(new Option('--jwt-audience <aud>', 'the audience JWTs must name'))
  .addOption(new Option('--jwks <file-or-url>', 'the issuer\'s JWKS: a JSON file or an https URL'))
  .addOption(new Option('--jwt-tenant-claim <claim>', 'the JWT claim naming the tenant').default('tenant'))
  .addOption(new Option('--jwt-allow-no-exp', 'accept JWTs without an exp claim (refused by default: they never expire)'))
  .addOption(new Option('--auth <mode>', 'required: every caller needs a key or token; off: callers without one are tenant anonymous '
    + '(default: required, except llmux up on a loopback address with its own NATS and no --api-key or JWT)').choices(authModes).env('LLMUX_AUTH'));

const natsOption = () => new Option('--nats <url>', 'NATS server URL').env('LLMUX_NATS_URL');
const seedFileOption = () => new Option('--nkey-seed-file <path>', 'connect to NATS as this nkey identity (a file holding its seed)').env('LLMUX_NKEY_SEED_FILE');
const natsCaOption = () => new Option('--nats-ca <file>', 'TLS to NATS: the CA certificate that signed the servers\' certificates (llmux pki, llmux cluster init)').env('LLMUX_NATS_CA');
const natsCertOption = () => new Option('--nats-cert <file>', 'TLS to NATS: this process\'s client certificate, for servers that verify clients').env('LLMUX_NATS_CERT');
const natsKeyOption = () => new Option('--nats-key <file>', 'TLS to NATS: the private key of --nats-cert').env('LLMUX_NATS_KEY');
/** `--metrics-port` and `--metrics-host`: GET /metrics of a role on a port of its own (observability.md). */
const metricsOptions = (command: Command): Command => command
  .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics (GET /metrics; OpenMetrics with exemplars when asked) on this port (0: any free port, shown in the ready line)').env('LLMUX_METRICS_PORT').argParser(port))
  .addOption(new Option('--metrics-host <host>', 'bind address of --metrics-port').env('LLMUX_METRICS_HOST').default('127.0.0.1'));
const apiKeyOption = () => new Option('--api-key <key>', 'client API key required as `Authorization: Bearer <key>` (repeatable)')
  .env('LLMUX_API_KEY').argParser(collect);

program
  .name('llmux')
  .description('An actor-based, OpenAI-compatible LLM gateway for fleets of inference engines, over NATS.')
  .version('0.1.0')
  .showHelpAfterError();

policyOptions(program
  .command('up'))
  .description('run a whole stack on this machine: nats-server, router, gateway, workers (with engine simulators)')
  .addOption(new Option('--port <port>', 'gateway HTTP port').default(8080).argParser(port))
  .addOption(new Option('--host <host>', 'gateway bind address').default('127.0.0.1'))
  .addOption(new Option('--workers <n>', 'number of workers').default(2).argParser(positiveInt))
  .addOption(apiKeyOption())
  .addOption(natsOption().default(undefined, 'start a managed nats-server'))
  .addOption(new Option('--engine-url <url>', 'point the workers at this engine instead of starting simulators'))
  .addOption(engineOption())
  .addOption(new Option('--engine-api-key <key>', 'key the engine expects').env('LLMUX_ENGINE_API_KEY'))
  .addOption(engineSettingOption())
  .addOption(new Option('--model <name>', 'model name the engine serves').default('llmux-sim-8b'))
  .addOption(new Option('--ttft-ms <ms>', 'simulator time to first token').default(50).argParser(nonNegative))
  .addOption(new Option('--itl-ms <ms>', 'simulator inter-token latency').default(10).argParser(nonNegative))
  .addOption(new Option('--routers <n>', 'routers, active-active').default(1).argParser(positiveInt))
  .addOption(new Option('--threads <n>', 'threads for the roles: 1 runs all on the main thread; N > 1 puts the workers and their simulators on N - 1 worker threads (docs/decisions/0005-actors-on-threads.md)').default(undefined, 'the cores available').argParser(positiveInt))
  .addOption(new Option('--function <id>', 'the function (version v1) the workers serve; only "demo" is registered for you').default('demo'))
  .addOption(new Option('--config <file>', 'a YAML file of resources (functions, versions, keys, backends, routes) to apply once up, as llmux apply -f'))
  .addOption(new Option('--gateways <n>', 'gateways (each on its own port after the first)').default(1).argParser(positiveInt))
  .addOption(new Option('--routing-method <method>', 'the demo model\'s routing method (docs/routing.md)').choices(routingMethods).default('least-busy'))
  .addOption(new Option('--clusters <names>', 'several clusters joined by NATS (a local TLS supercluster), e.g. us-east,us-west: a router, --workers workers and a gateway in each (ports --port, --port+1, …)'))
  .addHelpText('after', '\nExamples:\n  llmux up --port 8080 --workers 2 --api-key sk-local-test\n  llmux up --clusters us-east,us-west --workers 2\n  llmux up --workers 4 --routers 2 --routing-method prefix-aware\n  llmux up --engine tgi                                   # simulators speaking TGI\'s wire format\n  llmux up --engine ollama --engine-url http://127.0.0.1:11434 --model llama3.2\n')
  .action(async (opts) => (await import('./commands/up.js')).up(opts));

metricsOptions(policyOptions(program
  .command('gateway')))
  .description('run the gateway role (OpenAI-compatible HTTP)')
  .addOption(natsOption().makeOptionMandatory())
  .addOption(seedFileOption()).addOption(natsCaOption()).addOption(natsCertOption()).addOption(natsKeyOption())
  .addOption(clusterOption())
  .addOption(new Option('--port <port>', 'HTTP port').default(8080).argParser(port))
  .addOption(new Option('--host <host>', 'bind address').default('127.0.0.1'))
  .addOption(apiKeyOption())
  .addOption(new Option('--accept-timeout-ms <ms>', "how long a dispatch waits for a worker's accepted before trying another").default(2000).argParser(positiveInt))
  .addOption(new Option('--liveness-timeout-ms <ms>', 'a worker holding a request that sends no frame (not even a keepalive) this long is gone: the request moves on').default(1500).argParser(positiveInt))
  .addOption(new Option('--idle-timeout-ms <ms>', 'longest a request may go without output from its engine').default(120_000).argParser(positiveInt))
  .addOption(new Option('--lease-interval-ms <ms>', 'how often the gateway tells each worker which of its requests it still holds').default(500).argParser(positiveInt))
  .addOption(new Option('--max-attempts <n>', 'dispatch attempts before the first byte (each on another worker)').default(3).argParser(positiveInt))
  .addOption(new Option('--max-tokens-ceiling <n>', 'the most completion tokens a request may ask for when its model sets no contextLength (400 beyond)').default(32_768).argParser(positiveInt))
  .addOption(new Option('--request-timeout-ms <ms>', 'longest a request may take end to end').default(600_000).argParser(positiveInt))
  .addOption(new Option('--resume-idle-ms <ms>', 'a resumed stream whose journal gets no entry this long ends with an SSE error (its gateway is gone)').default(15_000).argParser(positiveInt))
  .addOption(new Option('--responses-ttl-ms <ms>', 'how long stored responses (POST /v1/responses with store) are kept for GET and previous_response_id, when the bucket is created').default(3_600_000).argParser(positiveInt))
  .addOption(new Option('--client-stall-ms <ms>', 'a streaming client that reads nothing this long is dropped and its request cancelled').default(30_000).argParser(positiveInt))
  .addOption(new Option('--max-buffered-bytes <n>', 'a streaming client that leaves this many bytes unread is dropped and its request cancelled').default(1024 * 1024).argParser(positiveInt))
  .addOption(new Option('--headers-timeout-ms <ms>', "longest a client may take to send a request's headers; then 408 and the connection closes (0: no bound)").default(defaultHttpLimits.headersTimeoutMs).argParser(nonNegativeInt))
  .addOption(new Option('--body-timeout-ms <ms>', 'longest a client may take to send a whole request, headers and body; then 408. Never bounds the answer (0: no bound)').default(defaultHttpLimits.bodyTimeoutMs).argParser(nonNegativeInt))
  .addOption(new Option('--keep-alive-timeout-ms <ms>', 'how long a keep-alive connection may stay idle between requests').default(defaultHttpLimits.keepAliveTimeoutMs).argParser(positiveInt))
  .addOption(new Option('--max-connections <n>', 'open connections at most; more are closed at once (0: no cap)').default(defaultHttpLimits.maxConnections).argParser(nonNegativeInt))
  .addOption(new Option('--max-connections-per-client <n>', 'open connections per client address (IPv6: per /64); more are closed at once. Behind a proxy every client is the proxy: raise it or 0 (no cap)').default(defaultHttpLimits.maxConnectionsPerClient).argParser(nonNegativeInt))
  .addHelpText('after', '\nExample:\n  llmux gateway --nats nats://127.0.0.1:4222 --port 8080 --api-key "$KEY"\n')
  .action(async (opts) => (await import('./commands/roles.js')).gateway(opts));

metricsOptions(program
  .command('router'))
  .description('run the router role (worker table, routing, dispatch); run two or more for active-active')
  .addOption(natsOption().makeOptionMandatory())
  .addOption(seedFileOption()).addOption(natsCaOption()).addOption(natsCertOption()).addOption(natsKeyOption())
  .addOption(clusterOption())
  .addOption(new Option('--id <id>', 'router id, in decision records (default: generated)'))
  .addOption(new Option('--breaker-cooldown-ms <ms>', 'how long an open circuit stays open before one probe (doubling on each failed probe, to 12 times this)').default(5000).argParser(positiveInt))
  .addOption(new Option('--require-worker-binding', 'refuse workers without a binding (llmux credentials --nats); default with --nkey-seed-file'))
  .addOption(new Option('--no-require-worker-binding', 'let in workers without a binding (default without --nkey-seed-file; bindings that exist still apply)'))
  .addHelpText('after', '\nExample:\n  llmux router --nats nats://127.0.0.1:4222 --cluster eu-1\n')
  .action(async (opts) => (await import('./commands/roles.js')).router(opts));

metricsOptions(program
  .command('worker'))
  .description('run one worker: the sidecar of one engine instance')
  .addOption(natsOption().makeOptionMandatory())
  .addOption(seedFileOption()).addOption(natsCaOption()).addOption(natsCertOption()).addOption(natsKeyOption())
  .requiredOption('--engine-url <url>', 'base URL of the engine, e.g. http://127.0.0.1:8000')
  .addOption(engineOption())
  .addOption(engineSettingOption())
  .addOption(new Option('--engine-api-key <key>', 'key the engine expects').env('LLMUX_ENGINE_API_KEY'))
  .addOption(new Option('--tokenizer <name>', 'tokenizer whose chat template renders prompts for text-only engines (tgi, triton, sglang-generate): cl100k, o200k, llama3, qwen3, gemma3, deepseek_v3 or a tokenizer.json path (default: guessed from --model)'))
  .requiredOption('--function <id>', 'function id this worker serves')
  .addOption(new Option('--function-version <id>', 'function version').default('v1'))
  .requiredOption('--model <name>', 'model name the engine serves')
  .addOption(new Option('--id <id>', 'worker id (default: generated)'))
  .addOption(new Option('--capacity <n>', 'requests at once before the worker counts as full').default(64).argParser(positiveInt))
  .addOption(clusterOption())
  .addOption(new Option('--label <key=value>', 'a label shown in decisions and worker lists, e.g. gpu=h100 (repeatable)').argParser(keyValue))
  .addOption(new Option('--weight <n>', 'weight for simple-shuffle routing (default: --capacity)').argParser(positiveInt))
  .addOption(new Option('--tpm-limit <n>', 'tokens per minute this worker may serve (routers keep under it)').argParser(positiveInt))
  .addOption(new Option('--rpm-limit <n>', 'requests per minute this worker may serve').argParser(positiveInt))
  .addOption(new Option('--heartbeat-ms <ms>', 'heartbeat interval').default(1000).argParser(positiveInt))
  .addOption(new Option('--engine-wait-s <s>', 'how long to wait for the engine to become healthy before registering').default(600).argParser(positiveInt))
  .addOption(new Option('--keepalive-ms <ms>', 'an alive frame to the gateway for every held request this often').default(400).argParser(positiveInt))
  .addOption(new Option('--lease-timeout-ms <ms>', "abort an engine request whose gateway sent no lease this long (the gateway is gone)").default(2000).argParser(positiveInt))
  .addOption(new Option('--engine-stall-ms <ms>', 'after its first token, an engine silent this long is stuck: the request fails over').default(5000).argParser(positiveInt))
  .addOption(new Option('--drain-timeout-ms <ms>', 'on SIGTERM, how long in-flight requests may finish before they are handed back to their gateways').default(10_000).argParser(positiveInt))
  .addHelpText('after', '\nExample:\n  llmux worker --nats nats://127.0.0.1:4222 --engine-url http://127.0.0.1:8000 --function demo --model llmux-sim-8b --label gpu=l4\n\nSIGTERM drains the worker: routers stop sending at once, in-flight requests finish, then it leaves.\n')
  .action(async (opts) => (await import('./commands/roles.js')).worker(opts));

program
  .command('register-demo')
  .description('register the demo function (id "demo", version "v1") for a model, in the control plane at --nats')
  .addOption(natsOption().makeOptionMandatory())
  .addOption(seedFileOption()).addOption(natsCaOption()).addOption(natsCertOption()).addOption(natsKeyOption())
  .addOption(new Option('--model <name>', 'model name the engines serve').default('llmux-sim-8b'))
  .addHelpText('after', '\nExample (then run workers with --function demo --model <name>):\n  llmux register-demo --nats nats://127.0.0.1:4222 --model meta-llama/Llama-3.1-8B-Instruct\n')
  .action(async (opts) => (await import('./commands/register-demo.js')).registerDemo(opts));

program
  .command('sim')
  .description('run the engine simulator: an HTTP server speaking one engine\'s wire format')
  .addOption(new Option('--format <kind>', 'wire format: the engine kinds of --engine').default('vllm'))
  .addOption(new Option('--port <port>', 'HTTP port').default(8000).argParser(port))
  .addOption(new Option('--host <host>', 'bind address').default('127.0.0.1'))
  .addOption(new Option('--ttft-ms <ms>', 'time to first token').default(0).argParser(nonNegative))
  .addOption(new Option('--itl-ms <ms>', 'inter-token latency').default(0).argParser(nonNegative))
  .addOption(new Option('--max-concurrency <n>', 'requests generated at once; more wait in a queue (default 64; engine timing: its max-num-seqs, 1024)').argParser(positiveInt))
  .addOption(new Option('--prefix-cache-blocks <n>', 'prefix cache size in 64-character blocks (a cached prompt share cuts TTFT); 0 turns it off').default(4096).argParser(nonNegativeInt))
  .addOption(new Option('--embedding-dimensions <n>', 'vector size of the simulated embedding model (formats that embed)').default(768).argParser(positiveInt))
  .addOption(new Option('--model <name>', 'model name listed in /v1/models (repeatable)').argParser(collect))
  .addOption(new Option('--timing <kind>', 'fixed: --ttft-ms and --itl-ms; engine: a stepped engine with KV blocks, chunked prefill and preemption (docs/simulator.md)').choices(['fixed', 'engine']).default('fixed'))
  .addOption(new Option('--block-size <n>', 'engine timing: tokens per KV block (default 16)').argParser(positiveInt))
  .addOption(new Option('--kv-blocks <n>', 'engine timing: KV blocks on the simulated GPU (default 26000)').argParser(positiveInt))
  .addOption(new Option('--max-batched-tokens <n>', 'engine timing: tokens computed per step (default 8192)').argParser(positiveInt))
  .addOption(new Option('--prefill-tokens-per-s <n>', 'engine timing: prefill speed (default 20000)').argParser(positiveInt))
  .addOption(new Option('--prefill-per-context-token-ms <ms>', 'engine timing: attention cost per prompt token per token of context (default 0.0000016)').argParser(nonNegative))
  .addOption(new Option('--decode-base-ms <ms>', 'engine timing: time of a step (default 6.2)').argParser(nonNegative))
  .addOption(new Option('--decode-per-seq-ms <ms>', 'engine timing: added per decoding sequence (default 0.29)').argParser(nonNegative))
  .addOption(new Option('--decode-per-kv-token-ms <ms>', 'engine timing: added per token of context a decoding sequence reads (default 0.00005)').argParser(nonNegative))
  .addOption(new Option('--speedup <x>', 'engine timing: run this many times faster than the modelled GPU (default 1)').argParser(nonNegative))
  .addOption(new Option('--kv-events-port <port>', 'engine timing: publish vLLM KV events on a ZeroMQ PUB socket on this port (off by default)').argParser(port))
  .addOption(new Option('--kv-events-topic <topic>', 'the topic of the KV event messages').default('kv-events'))
  .addOption(new Option('--kv-events-replay-port <port>', 'with --kv-events-port: answer replay requests on this port (vLLM\'s replay_endpoint)').argParser(port))
  .addHelpText('after', '\nExamples:\n  llmux sim --format tgi --port 8000 --ttft-ms 50 --itl-ms 10 --max-concurrency 8\n  llmux sim --timing engine --kv-blocks 4000 --kv-events-port 5557   # then a worker with --engine-option kv-events=tcp://127.0.0.1:5557\n')
  .action(async (opts) => (await import('./commands/sim.js')).sim(opts));

program
  .command('usage')
  .description('sum the usage ledger by tenant and model over a time range')
  .addOption(natsOption().makeOptionMandatory())
  .addOption(seedFileOption()).addOption(natsCaOption()).addOption(natsCertOption()).addOption(natsKeyOption())
  .addOption(new Option('--since <time>', 'start: 30m, 24h, 7d (ago) or an ISO date').default('24h'))
  .addOption(new Option('--until <time>', 'end: now, 30m (ago) or an ISO date').default('now'))
  .addOption(new Option('--by <fields>', 'group by, comma-separated: tenant, model, functionId, keyId, workerId, outcome').default('tenant,model'))
  .addOption(new Option('--format <format>', 'output').choices(['table', 'csv', 'json']).default('table'))
  .addHelpText('after', '\nExamples:\n  llmux usage --nats nats://127.0.0.1:4222 --since 7d\n  llmux usage --nats nats://127.0.0.1:4222 --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z --by tenant --format csv > november.csv\n')
  .action(async (opts) => (await import('./commands/usage.js')).usage(opts));

metricsOptions(program
  .command('limiter'))
  .description('run the rate limiter (one per deployment; gateways reserve tokens with it)')
  .addOption(natsOption().makeOptionMandatory())
  .addOption(seedFileOption()).addOption(natsCaOption()).addOption(natsCertOption()).addOption(natsKeyOption())
  .addHelpText('after', '\nExample:\n  llmux limiter --nats nats://127.0.0.1:4222\n')
  .action(async (opts) => (await import('./commands/roles.js')).limiter(opts));

program
  .command('credentials')
  .description('make NATS identities (nkeys) for roles run separately (--out: a control seed, one seed per worker, the nats-server authorization block), and bind worker identities to what they may serve (--nats)')
  .requiredOption('--worker <id>', 'a worker id to make an identity for, or to bind (repeatable)', collect)
  .addOption(new Option('--out <dir>', 'make identities: directory for the seeds and nats-auth.conf'))
  .addOption(new Option('--nats <url>', 'bind the workers in the control plane at this NATS server (connect with --nkey-seed-file, the control seed)'))
  .addOption(seedFileOption()).addOption(natsCaOption()).addOption(natsCertOption()).addOption(natsKeyOption())
  .addOption(new Option('--function <id>', 'with --nats: the function the workers may serve'))
  .addOption(new Option('--function-version <id>', 'with --nats: the version they may serve (default: any)'))
  .addOption(new Option('--model <name>', 'with --nats: the model they may serve (default: any)'))
  .addOption(new Option('--unbind', 'with --nats: remove the workers\' bindings (routers that require bindings then refuse them)'))
  .addOption(new Option('--cluster <name>', 'with --out: the cluster the workers run in (their identities may register only there; default local)'))
  .addHelpText('after', '\nExamples:\n  llmux credentials --worker gpu-1 --worker gpu-2 --out ./nats-identities\n' +
    '  llmux credentials --nats nats://127.0.0.1:4222 --nkey-seed-file ./nats-identities/control.seed --worker gpu-1 --worker gpu-2 --function demo --model llmux-sim-8b\n')
  .action(async (opts) => (await import('./commands/credentials.js')).credentials(opts));

const keyOption = () => new Option('--key <algorithm>', 'key type').choices(['ec-p256', 'rsa-2048']).default('ec-p256');
const pki = program.command('pki').description('a local CA and the certificates it signs, for NATS TLS (routes, gateways, leaf nodes, clients); needs openssl');
pki
  .command('init')
  .description('make a CA: ca.crt (for every server and client) and ca.key (owner-only)')
  .requiredOption('--out <dir>', 'directory for ca.crt and ca.key (made 0700)')
  .addOption(new Option('--name <cn>', 'the CA\'s common name').default('llmux CA'))
  .addOption(new Option('--days <n>', 'validity').default(3650).argParser(positiveInt))
  .addOption(keyOption())
  .addHelpText('after', '\nExample:\n  llmux pki init --out ./pki\n')
  .action(async (opts) => (await import('./commands/pki.js')).pkiInit(opts));
pki
  .command('issue')
  .description('make a key and a certificate signed by the CA: NAME.crt and NAME.key (owner-only)')
  .requiredOption('--ca <dir>', 'the CA directory (llmux pki init)')
  .requiredOption('--name <name>', 'the certificate\'s name (CN) and file name')
  .requiredOption('--out <dir>', 'directory for NAME.crt and NAME.key')
  .addOption(new Option('--san <list>', 'subject alternative names, comma-separated addresses and DNS names').default('127.0.0.1,localhost'))
  .addOption(new Option('--server', 'a server certificate (the default): TLS server and client auth, as nats-servers dial each other'))
  .addOption(new Option('--client', 'a client certificate: TLS client auth only'))
  .addOption(new Option('--days <n>', 'validity').default(825).argParser(positiveInt))
  .addOption(keyOption())
  .addHelpText('after', '\nExamples:\n  llmux pki issue --ca ./pki --name nats-1 --server --san 10.0.0.5,nats-1.internal,127.0.0.1 --out ./nats-1\n  llmux pki issue --ca ./pki --name gpu-1 --client --out ./gpu-1\n')
  .action(async (opts) => (await import('./commands/pki.js')).pkiIssue(opts));

program
  .command('cluster')
  .description('multi-cluster deployments over a NATS supercluster')
  .command('init')
  .description('write a ready deployment: nats-server configs (gateways, leaf node, JetStream, TLS everywhere), the PKI, NATS identities per cluster, a README')
  .requiredOption('--clusters <names>', 'the clusters, comma-separated, e.g. us-east,us-west,eu')
  .requiredOption('--out <dir>', 'a new (or empty) directory for the deployment')
  .addOption(new Option('--servers-per-cluster <n>', 'nats-servers in each cluster').default(1).argParser(positiveInt))
  .addOption(new Option('--workers-per-cluster <n>', 'worker identities to make in each cluster').default(2).argParser(nonNegativeInt))
  .addOption(new Option('--leaf <name[@cluster]>', 'an edge site: one leaf nats-server connected to a cluster (default: the first)'))
  .addOption(new Option('--base-port <port>', 'first port: clients from it, routes +1000, gateways +2000, leaf nodes +3000, monitoring +4000').default(4222).argParser(port))
  .addOption(new Option('--san <list>', 'extra subject alternative names for the server certificates (127.0.0.1 and localhost are always there)'))
  .addOption(keyOption())
  .addOption(new Option('--without-secrets', 'write no private key, seed or link password: an example to read, which cannot run'))
  .addHelpText('after', '\nExamples:\n  llmux cluster init --clusters us-east,us-west,eu --out ./deploy\n  llmux cluster init --clusters us-east,us-west --servers-per-cluster 3 --leaf edge@us-east --base-port 14222 --out ./deploy\n')
  .action(async (opts) => (await import('./commands/cluster.js')).clusterInit(opts));

program
  .command('top')
  .description('a live view of a running deployment (workers, requests/s, TTFT and tokens/s per model, errors, usage per tenant), refreshed every second')
  .addOption(new Option('--url <url>', 'the llmux gateway (default http://127.0.0.1:8080, or LLMUX_URL)'))
  .addOption(new Option('--admin-key <key>', 'the admin credential (or LLMUX_ADMIN_KEY, or "adminKey" in the config file)'))
  .addOption(new Option('--config-file <path>', 'JSON with "url" and "adminKey" (default ~/.config/llmux/config.json)'))
  .addOption(new Option('--once', 'print one plain snapshot (totals, no rates) and exit'))
  .addOption(new Option('--json', 'print one snapshot as JSON (GET /admin/api/stats) and exit'))
  .addOption(new Option('--interval-ms <ms>', 'refresh interval').default(1000).argParser(positiveInt))
  .addOption(new Option('--usage-window-s <s>', 'usage per tenant over this many seconds of the usage ledger').default(300).argParser(positiveInt))
  .addHelpText('after', '\nExamples:\n  llmux top --url http://127.0.0.1:8080 --admin-key "$LLMUX_ADMIN_KEY"\n  llmux top --once\n  llmux top --json | jq .workers\n\nKeys: q or Ctrl-C quits.\n')
  .action(async (opts) => (await import('./commands/top.js')).top(opts));

addAdminCommands(program);

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`llmux: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
