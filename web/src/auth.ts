// Sign-in. Local mode: tokens from the local stack's development users,
// kept in memory only. Cognito mode: Amplify's hosted UI, loaded on demand
// (./cognito) so the local mode does not download it.
import type { Config, DevUser } from "./config";

export interface User {
  name: string;
  email: string;
  groups: string[];
}

export interface Session {
  user: User;
  // The access token to send to the API (refreshed when Amplify can).
  token(): Promise<string>;
  signOut(): Promise<void>;
}

// The hash asked for before a hosted-UI sign-in, restored after it.
const returnKey = "egress.return";

export function claims(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1] || "";
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const json = decodeURIComponent(
    Array.from(atob(b64), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
  );
  return JSON.parse(json);
}

export function userFrom(idToken: string): User {
  const c = claims(idToken);
  const email = String(c.email || "");
  return {
    name: String(c.name || email || c["cognito:username"] || "signed in"),
    email,
    groups: Array.isArray(c["cognito:groups"]) ? (c["cognito:groups"] as string[]) : [],
  };
}

export async function devUsers(cfg: Config): Promise<DevUser[]> {
  const res = await fetch(cfg.auth.devUsersUrl || "/local/dev-users");
  if (!res.ok) throw new Error(`development users: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function signInLocal(cfg: Config, id: string, onSignOut: () => void): Promise<Session> {
  const res = await fetch(cfg.auth.devTokenUrl || "/local/dev-token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ id }),
  });
  if (!res.ok) throw new Error(`sign-in: ${res.status} ${(await res.text()).trim()}`);
  const t = (await res.json()) as { accessToken: string; idToken: string; expiresIn: number };
  let access: string | null = t.accessToken;
  return {
    user: userFrom(t.idToken),
    async token() {
      if (!access) throw new Error("signed out");
      return access;
    },
    async signOut() {
      access = null;
      onSignOut();
    },
  };
}

// currentCognito returns the Cognito session if there is one (after the
// hosted UI's redirect back, or a kept one), else null.
export async function currentCognito(cfg: Config): Promise<Session | null> {
  const c = await import("./cognito");
  const s = await c.session(cfg);
  if (s) {
    const back = sessionStorage.getItem(returnKey);
    if (back !== null) {
      sessionStorage.removeItem(returnKey);
      if (back && back !== location.hash) location.hash = back;
    }
  }
  return s;
}

export async function signInCognito(cfg: Config): Promise<void> {
  sessionStorage.setItem(returnKey, location.hash);
  const c = await import("./cognito");
  await c.signIn(cfg);
}
