import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./app.css";
import { currentCognito, devUsers, signInCognito, signInLocal, type Session } from "./auth";
import { loadConfig, type Config, type DevUser } from "./config";
import { client } from "./gql";
import { Lists } from "./lists";
import { RequestPage } from "./request";
import { roles, type Ctx } from "./ctx";

// The old e-mail links, /?egress_request_id=<id>, open the request as
// #<id> does (the one link format this console and the original
// frontend share).
function rewriteLegacyLink() {
  const q = new URLSearchParams(location.search);
  const id = q.get("egress_request_id");
  if (id) {
    q.delete("egress_request_id");
    const rest = q.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + "#" + encodeURIComponent(id));
  }
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn({ cfg, onSession }: { cfg: Config; onSession: (s: Session) => void }) {
  const [users, setUsers] = useState<DevUser[] | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (cfg.auth.kind === "local") devUsers(cfg).then(setUsers, (e) => setError(e.message));
  }, []);
  const as = async (u: DevUser) => {
    setBusy(true);
    setError("");
    try {
      onSession(await signInLocal(cfg, u.id, () => location.reload()));
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>Sign in to the egress console</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {cfg.auth.kind === "local" ? (
        <section aria-labelledby="dev-users">
          <h2 id="dev-users">Development users of the local stack</h2>
          {!users && !error && <p>Loading users…</p>}
          <ul class="users">
            {(users || []).map((u) => (
              <li key={u.id}>
                <button type="button" disabled={busy} onClick={() => as(u)} aria-label={`Sign in as ${u.label}`}>
                  Sign in as {u.label}
                </button>
                <span class="muted"> {u.name} &lt;{u.email}&gt;, groups: {u.groups.join(", ")}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : (
        <p>
          <button type="button" disabled={busy} onClick={() => { setBusy(true); signInCognito(cfg).catch((e) => { setError(e.message); setBusy(false); }); }}>
            Sign in
          </button>
        </p>
      )}
    </main>
  );
}

function Shell({ cfg, session }: { cfg: Config; session: Session }) {
  const hash = useHash();
  const ctx: Ctx = { cfg, session, gql: client(cfg.graphqlUrl, session), ...roles(cfg, session.user) };
  const route = hash.replace(/^#/, "");
  const def = ctx.reviewer ? "/queue" : ctx.researcher ? "/mine" : "/requests";
  useEffect(() => {
    if (!route) history.replaceState(null, "", "#" + def);
  }, [route]);
  const path = route || def;
  // A new page moves focus to its content, as a page load would, so
  // keyboard and screen-reader users start there (not on the first load).
  const [first, setFirst] = useState(true);
  useEffect(() => {
    if (first) setFirst(false);
    else document.getElementById("main")?.focus();
  }, [path]);
  let page;
  if (path.startsWith("/")) {
    page = <Lists ctx={ctx} path={path} />;
  } else {
    page = <RequestPage ctx={ctx} id={decodeURIComponent(path)} key={path} />;
  }
  const link = (to: string, label: string) => (
    <li><a href={"#" + to} aria-current={path === to ? "page" : undefined}>{label}</a></li>
  );
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Egress console</span>
        <nav aria-label="Main">
          <ul>
            {ctx.reviewer && link("/queue", "My queue")}
            {ctx.reviewer && link("/requests", "All requests")}
            {ctx.researcher && link("/mine", "My requests")}
          </ul>
        </nav>
        <span class="who">
          {session.user.name} <span class="muted">({session.user.groups.join(", ") || "no group"})</span>
          <button type="button" class="link" onClick={() => session.signOut()}>Sign out</button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>{page}</main>
    </>
  );
}

function App() {
  const [cfg, setCfg] = useState<Config | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(true);
  const [error, setError] = useState("");
  useEffect(() => {
    loadConfig()
      .then(async (c) => {
        setCfg(c);
        if (c.auth.kind === "cognito") setSession(await currentCognito(c));
      })
      .catch((e) => setError(e.message))
      .finally(() => setChecking(false));
  }, []);
  if (error)
    return (
      <main id="main">
        <h1>Egress console</h1>
        <p role="alert" class="error">The console could not start: {error}</p>
      </main>
    );
  if (!cfg || checking) return <main id="main"><p>Loading…</p></main>;
  if (!session) return <SignIn cfg={cfg} onSession={setSession} />;
  return <Shell cfg={cfg} session={session} />;
}

rewriteLegacyLink();
render(<App />, document.getElementById("app")!);
