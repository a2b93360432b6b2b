/**
 * The planner's two tolerances for comparing costs. Both compare money (sums of per-node prices), but against
 * different sources of error, so they differ on purpose.
 */

/**
 * For the local search, which compares costs it computed itself: sums of per-node prices and the price of one
 * replica (a node's price ÷ devices ÷ pods). Two equal values differ only by float rounding (about 1e-12 of a
 * realistic cost), while two different per-replica prices of a large node can differ by less than 1e-6: a looser
 * tolerance would take a cheaper place for a tie and change which plan the search keeps.
 */
export const SEARCH_COST_EPSILON = 1e-9;

/**
 * For comparing a plan's cost against a bound HiGHS proved (the LP relaxation's objective, the integer program's
 * dual bound) and plans of different searches against each other. HiGHS meets its constraints and its
 * `mip_abs_gap` only within about 1e-7, so a plan within 1e-6 of the bound is optimal; a tighter tolerance would
 * miss proven optima and run the exact program for nothing.
 */
export const BOUND_COST_EPSILON = 1e-6;
