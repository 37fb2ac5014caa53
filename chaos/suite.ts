/** Running classes of trials against one deployment: shared by `npm run chaos` and chaos.test.ts. */
import { classify } from './classify.js';
import { apiKey, type Deployment } from './deployment.js';
import { defaultFaultSettings, type FaultClass } from './faults.js';
import { hex, trialSeed } from './prng.js';
import { startStream } from './stream-client.js';
import { runTrial, type TrialResult, type TrialSettings } from './trial.js';
import { chatBody, expectedText, type StreamPlan } from './workload.js';

export const defaultTrialSettings: TrialSettings = { streams: 6, tokens: 120, boundMs: 20_000, orphanMs: 3000, fault: defaultFaultSettings };

export function describeSettings(d: Deployment, s: TrialSettings, seed: number): string {
  const o = d.options;
  return [
    `seed ${hex(seed)}; ${s.streams} streams × ${s.tokens} tokens at ${o.itlMs} ms/token (ttft ${o.ttftMs} ms); hung bound ${s.boundMs} ms; orphaned: engines busy > ${s.orphanMs} ms`,
    `deployment: ${o.engines} sims, ${o.engines} workers (heartbeat ${o.heartbeatMs} ms, NATS through a TCP proxy each), ${o.routers} routers, 1 limiter, 1 gateway, nats-server ${d.nats.url} (no auth)`,
    `faults: SIGSTOP for ${s.fault.stopMs || 'the whole trial'} ms; nats down ${s.fault.natsDownMs} ms; cut refused ${s.fault.cutOutageMs} ms; gateway restarted after ${s.fault.gatewayRestartMs} ms; long streams ${s.fault.longTokens} tokens`,
  ].join('\n');
}

/**
 * One undisturbed stream must come back exactly as workload.ts predicts: otherwise every verdict
 * after it would be about the harness, not the deployment.
 */
export async function selfCheck(d: Deployment, tokens: number): Promise<void> {
  const plan: StreamPlan = { prompt: 'chaos self-check: tell me about the sea', maxTokens: tokens, behaviour: { type: 'normal' } };
  const record = await startStream({ baseUrl: d.gatewayUrl, apiKey, body: chatBody(plan, d.model), behaviour: plan.behaviour, boundMs: 10_000 }).done;
  const verdict = classify(record, expectedText(plan));
  if (verdict.outcome !== 'completed') {
    throw new Error(`self-check: an undisturbed stream did not come back as predicted (${verdict.outcome}: ${verdict.why}); got '${record.text.slice(0, 120)}'`);
  }
}

export async function runClass(d: Deployment, cls: FaultClass, run: { seed: number; trials: number; settings: TrialSettings; say: (line: string) => void }): Promise<TrialResult[]> {
  const results: TrialResult[] = [];
  for (let i = 0; i < run.trials; i++) {
    const seed = trialSeed(run.seed, cls.name, i);
    try {
      results.push(await runTrial(d, cls, i, seed, run.settings, run.say));
    } catch (error) {
      // Leave the deployment whole for whoever runs next, then say which trial could not run.
      await d.heal().catch((e: unknown) => run.say(`  the deployment could not be healed: ${(e as Error).message}`));
      throw new Error(`trial ${cls.name}#${i} (seed ${hex(seed)}) could not run: ${(error as Error).message}`, { cause: error });
    }
  }
  return results;
}
