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
