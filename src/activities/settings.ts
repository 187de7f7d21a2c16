/**
 * The worker's current settings for the account workflow, as a (local) activity: workflows cannot
 * read configuration, and settings frozen in a workflow's input would never change for accounts
 * already registered. Running workflows ask for them now and then and apply what changed.
 */
import { callbackUrlFor, type SyncTimings, type WorkerSettings } from '../domain.js';

export interface SettingsDeps {
  timings: SyncTimings;
  /** The worker's PUBLIC_URL, if it has one of its own. */
  publicUrl: string | undefined;
}

export function settingsActivities(deps: SettingsDeps) {
  return {
    async workerSettings({ accountId }: { accountId: string }): Promise<WorkerSettings> {
      return {
        timings: deps.timings,
        ...(deps.publicUrl ? { callbackUrl: callbackUrlFor(deps.publicUrl, accountId) } : {}),
      };
    },
  };
}
