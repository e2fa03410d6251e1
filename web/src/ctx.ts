import type { Session, User } from "./auth";
import type { Config } from "./config";
import type { GQL } from "./gql";

export interface Roles {
  reviewer: boolean; // in a reviewer group or the admin group
  admin: boolean;
  researcher: boolean;
  downloader: boolean; // the download group: the first stage's
}

export interface Ctx extends Roles {
  cfg: Config;
  session: Session;
  gql: GQL;
}

export function roles(cfg: Config, u: User): Roles {
  const has = (g: string) => !!g && u.groups.includes(g);
  return {
    admin: has(cfg.adminGroup),
    reviewer: cfg.reviewerGroups.some(has) || has(cfg.adminGroup),
    researcher: has(cfg.researcherGroup),
    downloader: has(cfg.reviewerGroups[0]),
  };
}
