import { callbackJobKinds } from '../callbacks/originate.js';
import { conversionJobKinds } from '../conversions/send.js';
import { crmJobKinds } from '../crm/jobs.js';
import type { AppContext } from '../http/context.js';
import type { JobKinds } from './queue.js';

/** Every kind of queued job the worker of `ringtrace start` runs; each feature adds its own here. */
export function jobKinds(ctx: Omit<AppContext, 'geo'>): JobKinds {
  return { ...conversionJobKinds(ctx), ...crmJobKinds(ctx), ...callbackJobKinds(ctx) };
}
