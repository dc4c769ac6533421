// Judging the agent after an install: systemd samples over the settle period, and /readyz when the agent serves it.
import {
  agentShowQuery,
  observe,
  observeReady,
  parseAgentSample,
  SAMPLE_EVERY_MS,
  startWatch,
  verdict,
  type AgentSample,
} from '../agent/agent-health.ts';
import { AGENT_UNIT } from '../agent/agent-service.ts';
import { SECOND } from '../core/command.ts';
import type { Host } from '../host/host.ts';
import { fields } from '../log/fields.ts';
import type { RunContext } from './context.ts';

const READYZ_TIMEOUT_MS = 2 * SECOND;

export const sampleAgent = async (host: Host): Promise<AgentSample | undefined> => parseAgentSample(await host.run(agentShowQuery));

/** Watches the agent for the settle period; returns why it is unhealthy, or undefined when it stayed healthy. */
export const checkHealth = async ({ host, config }: RunContext, baselineRestarts: number): Promise<string | undefined> => {
  const path = config.teleportConfig;
  const text = await host.readFile(path).catch((error: unknown) => {
    host.log.warn(
      `cannot read ${path} for the agent's /readyz (${error instanceof Error ? error.message : String(error)}); judging by systemd alone.`,
      fields({ path }),
    );
    return undefined;
  });
  // The YAML parser loads only here, for the one run in many that installs.
  const { readyzUrl } = await import('../agent/agent-config.ts');
  const ready = readyzUrl(text);
  if (ready.problem !== undefined)
    host.log.warn(`cannot use ${path} for the agent's /readyz: ${ready.problem}; judging by systemd alone.`, fields({ path }));
  host.log.info(
    `checking that ${AGENT_UNIT} stays healthy for ${config.settleMs / SECOND} s${ready.url === undefined ? '' : ` and that ${ready.url} answers 200`}...`,
    fields({ durationMs: config.settleMs, url: ready.url }),
  );
  let watch = startWatch(baselineRestarts, ready.url !== undefined);
  const started = host.clock.now().getTime();
  for (;;) {
    const seen = observe(watch, await sampleAgent(host));
    if (seen.failed !== undefined) return seen.failed;
    watch = seen.watch;
    if (ready.url !== undefined && !watch.ready.ok) watch = observeReady(watch, await host.probeStatus(ready.url, READYZ_TIMEOUT_MS));
    if (host.clock.now().getTime() - started >= config.settleMs) return verdict(watch, config.settleMs);
    await host.clock.sleep(SAMPLE_EVERY_MS);
  }
};
