export interface Health {
  services: Record<string, string>;
  version?: string;
}

const UP = new Set(['available', 'running']);

export async function readHealth(endpoint: string, timeoutMs = 2000): Promise<Health | undefined> {
  try {
    const res = await fetch(new URL('/_localstack/health', endpoint), { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    return (await res.json()) as Health;
  } catch {
    return undefined;
  }
}

export function servicesUp(health: Health | undefined, services: readonly string[]): boolean {
  return !!health && services.every((s) => UP.has(health.services[s] ?? ''));
}

/**
 * Reads health until the services are up or waitMs has passed, backing off from 250 ms to
 * 5 s between tries: a LocalStack just started (`docker compose up -d`) answers after a while.
 * Returns the last health seen, up or not.
 */
export async function waitForHealth(
  endpoint: string,
  services: readonly string[],
  waitMs = 60_000,
): Promise<{ health: Health | undefined; up: boolean; tries: number; ms: number }> {
  const started = performance.now();
  let delay = 250;
  for (let tries = 1; ; tries++) {
    const left = waitMs - (performance.now() - started);
    // AbortSignal.timeout takes whole milliseconds only (it throws on 1999.7).
    const health = await readHealth(endpoint, Math.round(Math.min(3000, Math.max(500, left))));
    const ms = performance.now() - started;
    if (servicesUp(health, services)) return { health, up: true, tries, ms };
    if (ms >= waitMs) return { health, up: false, tries, ms };
    await new Promise((r) => setTimeout(r, Math.min(delay, waitMs - ms)));
    delay = Math.min(delay * 2, 5000);
  }
}
