import type { GpuModel, MigGeometry } from "./catalog";
import { maxInstancesOf } from "./placement";

/** A MIG layout for one GPU: profile name → instances. Empty means MIG mode without instances. */
export type MigCounts = Readonly<Record<string, number>>;

export interface NamedLayout {
  /** The `nvidia.com/mig.config` value, e.g. `all-1g.5gb`. */
  readonly name: string;
  /** Whether the layout turns MIG mode on. */
  readonly migEnabled: boolean;
  readonly counts: MigCounts;
}

/**
 * The name mig-manager gives the layout that fills a GPU with one profile: `all-<profile>`, with `+`
 * written as `.` (`1g.5gb+me` → `all-1g.5gb.me`).
 */
export function allProfileLayoutName(profileName: string): string {
  return `all-${profileName.replace(/\+/g, ".")}`;
}

/**
 * The layouts mig-manager generates for a GPU model when no custom config is given: `all-disabled`,
 * `all-enabled`, `all-balanced` and one `all-<profile>` per profile at its maximum count.
 */
export function namedLayouts(model: GpuModel): NamedLayout[] {
  const layouts: NamedLayout[] = [{ name: "all-disabled", migEnabled: false, counts: {} }];
  const mig: MigGeometry | undefined = model.mig;
  if (mig === undefined) return layouts;
  layouts.push({ name: "all-enabled", migEnabled: true, counts: {} });
  for (const p of mig.profiles) {
    layouts.push({
      name: allProfileLayoutName(p.name),
      migEnabled: true,
      counts: { [p.name]: maxInstancesOf(mig, p.name) },
    });
  }
  layouts.push({ name: "all-balanced", migEnabled: true, counts: mig.balanced });
  return layouts;
}

export function findNamedLayout(model: GpuModel, name: string): NamedLayout | undefined {
  return namedLayouts(model).find((l) => l.name === name);
}

/** Profiles with a non-zero count, in a stable order. */
export function nonZeroProfiles(counts: MigCounts): string[] {
  return Object.keys(counts)
    .filter((p) => counts[p] > 0)
    .sort();
}
