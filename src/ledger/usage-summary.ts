/**
 * `llmux usage`: the ledger read back and summed by tenant and model (or by any of the record's
 * grouping fields) over a time range, as rows for a table, CSV or JSON.
 */
import { defaultCluster } from '../transport/subjects.js';
import type { UsageRecord } from './usage-ledger.js';

export const groupFields = ['tenant', 'model', 'functionId', 'keyId', 'workerId', 'outcome', 'cluster'] as const;
export type GroupField = (typeof groupFields)[number];

export interface UsageRow {
  group: Record<string, string>;
  requests: number;
  ok: number;
  failed: number;
  cancelled: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  totalTokens: number;
}

export function summarize(records: Iterable<UsageRecord>, by: readonly GroupField[], range: { since: number; until: number }): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  for (const r of records) {
    const at = Date.parse(r.start);
    if (at < range.since || at >= range.until) continue;
    const group = Object.fromEntries(by.map((f) => [f, String(r[f] ?? (f === 'cluster' ? defaultCluster : '-'))]));
    const key = JSON.stringify(group);
    let row = rows.get(key);
    if (!row) {
      row = { group, requests: 0, ok: 0, failed: 0, cancelled: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, totalTokens: 0 };
      rows.set(key, row);
    }
    row.requests++;
    row[r.outcome === 'ok' ? 'ok' : r.outcome === 'failed' ? 'failed' : 'cancelled']++;
    row.promptTokens += r.promptTokens;
    row.completionTokens += r.completionTokens;
    row.cachedTokens += r.cachedTokens;
    row.totalTokens += r.promptTokens + r.completionTokens;
  }
  return [...rows.values()].sort((a, b) => JSON.stringify(a.group).localeCompare(JSON.stringify(b.group)));
}

const columns = ['requests', 'ok', 'failed', 'cancelled', 'promptTokens', 'completionTokens', 'cachedTokens', 'totalTokens'] as const;

const csvCell = (v: string | number): string => (typeof v === 'number' || !/[",\n]/.test(v) ? String(v) : `"${v.replace(/"/g, '""')}"`);

export function toCsv(rows: readonly UsageRow[], by: readonly GroupField[]): string {
  const lines = [[...by, ...columns].join(',')];
  for (const r of rows) lines.push([...by.map((f) => csvCell(r.group[f] ?? '')), ...columns.map((c) => r[c])].join(','));
  return `${lines.join('\n')}\n`;
}

export function tableCells(rows: readonly UsageRow[], by: readonly GroupField[]): { head: string[]; body: string[][] } {
  const n = (v: number): string => v.toLocaleString('en-US');
  return {
    head: [...by, 'requests', 'ok', 'failed', 'cancelled', 'prompt', 'completion', 'cached', 'total tokens'],
    body: rows.map((r) => [...by.map((f) => r.group[f] ?? ''), ...columns.map((c) => n(r[c]))]),
  };
}
