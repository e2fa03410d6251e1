// The Cognito sign-in, through aws-amplify v6's auth module and the user
// pool's hosted UI (code grant with PKCE; MFA as the pool requires). A
// chunk of its own: only the Cognito mode loads it. Tokens stay in
// sessionStorage (Amplify needs somewhere across the redirect), not in
// localStorage, so they end with the tab.
import { Amplify } from "aws-amplify";
import { fetchAuthSession, signInWithRedirect, signOut } from "aws-amplify/auth";
import { cognitoUserPoolsTokenProvider } from "aws-amplify/auth/cognito";
import { sessionStorage as amplifySessionStorage } from "aws-amplify/utils";
import "aws-amplify/auth/enable-oauth-listener";
import type { Config } from "./config";
import { userFrom, type Session } from "./auth";

let configured = false;

function configure(cfg: Config) {
  if (configured) return;
  const a = cfg.auth;
  const redirect = a.redirectUrl || location.origin + location.pathname;
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: a.userPoolId || "",
        userPoolClientId: a.userPoolClientId || "",
        loginWith: {
          oauth: {
            domain: a.domain || "",
            scopes: a.scopes && a.scopes.length ? a.scopes : ["openid", "email", "profile"],
            redirectSignIn: [redirect],
            redirectSignOut: [redirect],
            responseType: "code",
          },
        },
      },
    },
  });
  cognitoUserPoolsTokenProvider.setKeyValueStorage(amplifySessionStorage);
  configured = true;
}

export async function session(cfg: Config): Promise<Session | null> {
  configure(cfg);
  const s = await fetchAuthSession();
  const id = s.tokens?.idToken?.toString();
  if (!s.tokens?.accessToken || !id) return null;
  return {
    user: userFrom(id),
    async token() {
      const t = (await fetchAuthSession()).tokens?.accessToken;
      if (!t) throw new Error("signed out: sign in again");
      return t.toString();
    },
    async signOut() {
      await signOut();
    },
  };
}

export async function signIn(cfg: Config): Promise<void> {
  configure(cfg);
  await signInWithRedirect();
}
