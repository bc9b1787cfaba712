// What the delivery-log routes of job-backed features (conversions out, CRM pushes) share.
import { z } from 'zod';
import { HttpError } from '../http/errors.js';
import { JOB_STATUSES, type JobRunDeps, type JobView, jobViews, retryJobNow } from './queue.js';

/** The `status` filter of a delivery log. */
export const jobStatusFilter = z.enum(JOB_STATUSES).optional();

/**
 * The manual retry endpoint's work once the route has checked the job is the caller's: one attempt now,
 * then the job as the log shows it; 404 for a job the worker has no handler for, 409 while it is running.
 */
export async function retryDelivery(deps: JobRunDeps, accountId: string, jobId: string): Promise<JobView> {
  const result = await retryJobNow(deps, accountId, jobId);
  if (result === 'busy')
    throw new HttpError(409, 'delivery_in_progress', `Delivery ${jobId} is being attempted right now`);
  if (result === 'not_found' || result === 'unknown_kind')
    throw new HttpError(404, 'not_found', `Delivery ${jobId} not found`);
  const [view] = await jobViews(deps.db, accountId, [jobId]);
  return view;
}
