// The console's configuration (config.json beside index.html): web.Config
// in web/config.go, written at deployment or served by the local stack.
export interface Config {
  graphqlUrl: string;
  region?: string;
  auth: {
    kind: "cognito" | "local";
    userPoolId?: string;
    userPoolClientId?: string;
    domain?: string;
    scopes?: string[];
    redirectUrl?: string;
    devUsersUrl?: string;
    devTokenUrl?: string;
  };
  reviewerGroups: string[];
  adminGroup: string;
  researcherGroup: string;
  maxDownloads: number;
}

export interface DevUser {
  id: string;
  label: string;
  email: string;
  name: string;
  groups: string[];
  swbUserId?: string;
}

export async function loadConfig(): Promise<Config> {
  const res = await fetch("config.json", { cache: "no-cache" });
  if (!res.ok) throw new Error(`config.json: ${res.status} ${res.statusText}`);
  const cfg = (await res.json()) as Config;
  if (!cfg.graphqlUrl) throw new Error("config.json names no graphqlUrl");
  cfg.reviewerGroups = cfg.reviewerGroups || [];
  return cfg;
}
