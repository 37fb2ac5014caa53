/**
 * The resource detectors tracing starts with: the SDK's own, chosen by `OTEL_NODE_RESOURCE_DETECTORS`
 * as the SDK would (`all` when unset, `none`, or a list of `env`, `host`, `os`, `process`,
 * `serviceinstance`), except that the process detector leaves out `process.command_args`. llmux's
 * command line can carry secrets (`--api-key`, `--admin-key`), and a resource attribute goes out
 * with every span export.
 */
import type { resources } from '@opentelemetry/sdk-node';

type Resources = typeof resources;
type ResourceDetector = resources.ResourceDetector;

/** The process detector, without the command line's arguments. */
function processWithoutArgs(r: Resources): ResourceDetector {
  return {
    detect: (config) => {
      const detected = r.processDetector.detect(config);
      const { 'process.command_args': _args, ...attributes } = detected.attributes ?? {};
      return { ...detected, attributes };
    },
  };
}

export function resourceDetectors(r: Resources, env: NodeJS.ProcessEnv = process.env): ResourceDetector[] {
  const byName = new Map<string, ResourceDetector>([
    ['host', r.hostDetector], ['os', r.osDetector], ['serviceinstance', r.serviceInstanceIdDetector],
    ['process', processWithoutArgs(r)], ['env', r.envDetector],
  ]);
  const names = (env.OTEL_NODE_RESOURCE_DETECTORS ?? 'all').split(',').map((n) => n.trim()).filter(Boolean);
  if (names.includes('all')) return [...byName.values()];
  if (names.includes('none')) return [];
  // An unknown name is skipped, as the SDK skips it (it warns through its diag logger).
  return names.flatMap((n) => byName.get(n) ?? []);
}
