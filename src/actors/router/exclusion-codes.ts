/**
 * The reasons a worker may not take a request, in the order their rules apply (eligibility.ts says
 * what each means), and each as the small integer a decision's columns hold. Apart from
 * eligibility.ts so that the fleet's columns (fleet-columns.ts) can keep them per row without
 * importing the rules.
 */
export const exclusionReasons = [
  'model-mismatch', 'cannot-serve', 'not-deployed', 'failed-this-request', 'draining', 'unhealthy', 'circuit-open', 'at-capacity', 'over-limit',
] as const;
export type ExclusionReason = (typeof exclusionReasons)[number];

/** Each reason as a small integer for a decision's columns: 1 + its place above (0: eligible). A literal, so reading it is a constant. */
export const exclusionCodes = {
  'model-mismatch': 1, 'cannot-serve': 2, 'not-deployed': 3, 'failed-this-request': 4, draining: 5, unhealthy: 6, 'circuit-open': 7, 'at-capacity': 8, 'over-limit': 9,
} as const satisfies Record<ExclusionReason, number>;
