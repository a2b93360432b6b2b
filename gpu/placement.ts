import type { MigGeometry, MigProfile } from "./catalog";

/** One MIG instance placed on a GPU: its profile and the first memory slice it occupies. */
export interface PlacedInstance {
  readonly profile: string;
  readonly start: number;
  readonly memorySlices: number;
}

/**
 * Finds a legal placement of the requested instances on one GPU, or `undefined` when none exists: the
 * rule the hardware applies when mig-manager creates the instances. Instances must start at one of their
 * profile's placements, may not overlap on memory slices, may not use more compute slices than the GPU
 * has, and no profile may exceed its per-GPU instance limit.
 *
 * @param counts profile name → instances on one GPU; every name must be a profile of `geometry`.
 */
export function placeMigLayout(
  geometry: MigGeometry,
  counts: Readonly<Record<string, number>>,
): PlacedInstance[] | undefined {
  const instances: MigProfile[] = [];
  let compute = 0;
  for (const [name, count] of Object.entries(counts)) {
    const p = geometry.profiles.find((candidate) => candidate.name === name);
    if (p === undefined) {
      throw new Error(`MIG profile ${name} is not in this GPU's catalog`);
    }
    if (!Number.isInteger(count) || count < 0 || count > p.maxInstances) {
      return undefined;
    }
    compute += count * p.computeSlices;
    for (let i = 0; i < count; i++) instances.push(p);
  }
  if (compute > geometry.computeSlices) return undefined;
  // Large instances have the fewest legal starts: placing them first keeps the search tiny.
  instances.sort((a, b) => b.memorySlices - a.memorySlices || a.placements.length - b.placements.length);

  const used: boolean[] = new Array<boolean>(geometry.memorySlices).fill(false);
  const placed: PlacedInstance[] = [];
  const fits = (p: MigProfile, start: number): boolean => {
    if (start + p.memorySlices > geometry.memorySlices) return false;
    for (let s = start; s < start + p.memorySlices; s++) if (used[s]) return false;
    return true;
  };
  const mark = (p: MigProfile, start: number, value: boolean): void => {
    for (let s = start; s < start + p.memorySlices; s++) used[s] = value;
  };
  const search = (index: number): boolean => {
    if (index === instances.length) return true;
    const p = instances[index];
    // Identical instances are interchangeable: only try starts after the previous one of the same profile.
    const previous = index > 0 && instances[index - 1] === p ? placed[index - 1].start : -1;
    for (const start of p.placements) {
      if (start <= previous || !fits(p, start)) continue;
      mark(p, start, true);
      placed.push({ profile: p.name, start, memorySlices: p.memorySlices });
      if (search(index + 1)) return true;
      placed.pop();
      mark(p, start, false);
    }
    return false;
  };
  return search(0) ? placed.sort((a, b) => a.start - b.start) : undefined;
}

/** The most instances of one profile that fit on a GPU at once (what `all-<profile>` creates). */
export function maxInstancesOf(geometry: MigGeometry, profileName: string): number {
  let count = 0;
  while (placeMigLayout(geometry, { [profileName]: count + 1 }) !== undefined) count++;
  return count;
}
