// The GraphQL client: POST to graphqlUrl with the raw access token in
// Authorization, as AppSync's Cognito user pools mode expects.
import type { Session } from "./auth";

export class APIError extends Error {}

export type GQL = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

export function client(url: string, session: Session): GQL {
  return async <T,>(query: string, variables?: Record<string, unknown>): Promise<T> => {
    const token = await session.token();
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: token },
        body: JSON.stringify({ query, variables: variables || {} }),
      });
    } catch (e) {
      throw new APIError(`the API could not be reached: ${(e as Error).message}`);
    }
    let body: { data?: T; errors?: { message: string; errorType?: string }[] } = {};
    try {
      body = await res.json();
    } catch {
      throw new APIError(`the API answered ${res.status} ${res.statusText}`);
    }
    if (body.errors && body.errors.length) {
      throw new APIError(body.errors.map((e) => (e.errorType ? `${e.errorType}: ` : "") + e.message).join("; "));
    }
    if (!res.ok) throw new APIError(`the API answered ${res.status} ${res.statusText}`);
    return body.data as T;
  };
}

export interface Finding {
  check: string;
  severity: string;
  message: string;
}
export interface FileFinding extends Finding {
  path: string | null;
}
export interface ApprovalStage {
  name: string;
  group: string;
  reviewers: number;
}
export interface Summary {
  egress_request_id: string;
  egress_status: string;
  egress_store_name: string;
  workspace_id: string;
  project_id: string;
  requested_by: string;
  requested_dt: string;
  updated_dt: string;
  current_reviewer_group: string | null;
  awaiting_since: string | null;
  reminders_sent: number | null;
  file_count: number | null;
  end_reason: string | null;
  failure_cause: string | null;
}
export interface Review {
  stage: string;
  stage_index: number;
  name: string | null;
  email: string | null;
  dt: string;
  decision: string;
  reason: string | null;
  files: { path: string; decision: string; comment: string | null }[] | null;
}
export interface RequestEvent {
  at: string;
  kind: string;
  actor: string | null;
  from_status: string | null;
  to_status: string | null;
  stage: string | null;
  reason: string | null;
}
export interface Detail extends Summary {
  task_token: string | null;
  download_count: string | null;
  downloads_left: number | null;
  released_dt: string | null;
  revoked_dt: string | null;
  revoked_by: string | null;
  revoke_reason: string | null;
  ended_by: string | null;
  previous_request_id: string | null;
  approval_stages: ApprovalStage[] | null;
  checks: { engine: string; blocking: number; warnings: number; info: number; files: number; notable: FileFinding[] | null } | null;
  previous_request: {
    egress_request_id: string;
    egress_status: string;
    requested_dt: string;
    updated_dt: string;
    comments: { stage: string; name: string | null; dt: string; decision: string; path: string | null; comment: string | null }[] | null;
  } | null;
  changes?: {
    items: { path: string; change: string; sha256: string | null; previous_sha256: string | null }[] | null;
    nextToken: string | null;
    added: number;
    removed: number;
    changed: number;
  } | null;
  history: RequestEvent[] | null;
  reviews: Review[] | null;
}
export interface Page<T> {
  items: T[] | null;
  nextToken: string | null;
}
export interface PagedFile {
  path: string;
  size: number;
  sha256: string;
  version: string | null;
  content_type: string | null;
}
export interface FilePreview {
  path: string;
  content_type: string;
  size: number;
  sha256: string;
  url: string;
  expires_at: string;
  lines: string[] | null;
  rows: string[][] | null;
  truncated: boolean;
}

const summary = `egress_request_id egress_status egress_store_name workspace_id project_id
  requested_by requested_dt updated_dt current_reviewer_group awaiting_since reminders_sent
  file_count end_reason failure_cause`;

export const Q = {
  // The queue names each request's awaited stage (approval_stages is a
  // stored field, no extra read).
  queue: `query Queue($limit: Int, $nextToken: String) {
    reviewQueue(limit: $limit, nextToken: $nextToken) { items { ${summary} approval_stages { name group reviewers } } nextToken } }`,
  requests: `query Requests($filter: RequestFilter, $limit: Int, $nextToken: String) {
    requests(filter: $filter, limit: $limit, nextToken: $nextToken) { items { ${summary} } nextToken } }`,
  mine: `query Mine($limit: Int, $nextToken: String) {
    myRequests(limit: $limit, nextToken: $nextToken) { items { ${summary} } nextToken } }`,
  request: `query Request($id: String!) { getRequest(egress_request_id: $id) { ${summary}
    task_token download_count downloads_left released_dt revoked_dt revoked_by revoke_reason
    ended_by previous_request_id
    approval_stages { name group reviewers }
    checks { engine blocking warnings info files notable { path check severity message } }
    previous_request { egress_request_id egress_status requested_dt updated_dt
      comments { stage name dt decision path comment } }
    history { at kind actor from_status to_status stage reason }
    reviews { stage stage_index name email dt decision reason files { path decision comment } } } }`,
  // Reviewers only (a researcher's resubmission shows its previous
  // attempt's comments, not this).
  changes: `query Changes($id: String!, $nextToken: String) { getRequest(egress_request_id: $id) {
    changes(limit: 200, nextToken: $nextToken) { items { path change sha256 previous_sha256 } nextToken added removed changed } } }`,
  files: `query Files($id: String!, $limit: Int, $nextToken: String) { getRequest(egress_request_id: $id) {
    filePage(limit: $limit, nextToken: $nextToken) {
      items { path size sha256 version content_type } nextToken findings { path check severity message } } } }`,
  preview: `query Preview($id: String!, $path: String!) { previewFile(egress_request_id: $id, path: $path) {
    path content_type size sha256 url expires_at lines rows truncated } }`,
  review: `mutation Review($request: ReviewInput!) { reviewRequest(request: $request) { egress_request_id egress_status } }`,
  cancel: `mutation Cancel($id: String!, $reason: String!) { cancelRequest(egress_request_id: $id, reason: $reason) { egress_request_id egress_status } }`,
  revoke: `mutation Revoke($id: String!, $reason: String!) { revokeRelease(egress_request_id: $id, reason: $reason) { egress_request_id egress_status } }`,
  verify: `query Verify($id: String!) { verifyRelease(egress_request_id: $id) {
    ok checked_at entries_checked problem_count problems { path problem } } }`,
  download: `mutation Download($request: DownloadDataInput!) { downloadData(request: $request) { presign_url } }`,
};
