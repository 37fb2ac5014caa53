/** Reading a real /metrics endpoint in tests: samples by name and labels, and the families it declares. */

export interface Scrape {
  text: string;
  contentType: string;
}

export async function scrape(url: string, accept?: string): Promise<Scrape> {
  const res = await fetch(url, accept ? { headers: { accept } } : {});
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return { text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

/** The sum of the samples named `name` whose labels include every one of `labels` (0 when none). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}

/** The metric families a scrape declares (`# TYPE <name> <type>`), with the sample names each stands for. */
export function families(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
    if (type === 'counter' && !name.endsWith('_total')) names.add(`${name}_total`);
  }
  return names;
}
