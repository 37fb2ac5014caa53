/**
 * The metric names a PromQL expression reads. llmux's metrics all start with `llmux_` or `gen_ai_`,
 * and so do some label names (`gen_ai_token_type`): labels are dropped first (matchers in braces,
 * `by (...)`, `without (...)`, `on (...)`, `ignoring (...)`, `group_left/right (...)`).
 */
export function metricNamesOf(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/"[^"]*"/g, '');
  return [...new Set(bare.match(/\b(?:llmux|gen_ai)_[a-zA-Z0-9_:]*/g) ?? [])];
}
