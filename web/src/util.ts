import type { Detail, Summary } from "./gql";

export function humanSize(n: number | null | undefined): string {
  if (n == null) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function date(s: string | null | undefined): string {
  if (!s) return "";
  const d = new Date(s);
  if (isNaN(d.getTime())) return s;
  return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function age(s: string | null | undefined, now = Date.now()): string {
  if (!s) return "";
  const t = new Date(s).getTime();
  if (isNaN(t)) return "";
  const m = Math.max(0, Math.floor((now - t) / 60000));
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.floor(h / 24)} days`;
}

// The status a request awaiting stage i is in (egress.awaitingStatus).
export function awaitingStatus(i: number): string {
  return i === 0 ? "PROCESSING" : i === 1 ? "IGAPPROVED" : `STAGE${i}APPROVED`;
}

// The index of the stage r awaits, or -1.
export function awaitingStage(r: Summary & Partial<Pick<Detail, "approval_stages">>): number {
  const stages = r.approval_stages;
  if (!stages || !stages.length) return r.current_reviewer_group ? 0 : -1;
  for (let i = 0; i < stages.length; i++) if (awaitingStatus(i) === r.egress_status) return i;
  return -1;
}

export const ended = ["REJECTED", "RETURNED", "CANCELLED", "BLOCKED", "FAILED", "EXPIRED", "REVOKED"];
export const troubled = ["BLOCKED", "FAILED", "EXPIRED", "REVOKED", "CANCELLED", "REJECTED", "RETURNED"];

export const statuses = [
  "PROCESSING", "IGAPPROVED", "STAGE2APPROVED", "STAGE3APPROVED", "STAGE4APPROVED", "RITAPPROVED",
  "REJECTED", "RETURNED", "CANCELLED", "BLOCKED", "FAILED", "EXPIRED", "REVOKED",
];

export function shortHash(h: string): string {
  return h.length > 12 ? h.slice(0, 12) + "…" : h;
}
