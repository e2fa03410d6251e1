import { useEffect, useState } from "preact/hooks";
import type { Ctx } from "./ctx";
import { Q, type Detail, type Page, type Summary } from "./gql";
import { age, awaitingStage, date, statuses, troubled } from "./util";

const pageSize = 25;

interface Filter {
  status: string;
  workspace_id: string;
  project_id: string;
}

// usePages loads one page at a time; tokens[i] is page i's nextToken
// argument, so Previous goes back without the API paging backwards.
function usePages(load: (token: string | null) => Promise<Page<Summary>>, deps: unknown[]) {
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page<Summary> | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(true);
  const at = tokens.length - 1;
  useEffect(() => {
    setTokens([null]);
  }, deps);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError("");
    load(tokens[at]).then(
      (p) => live && (setPage(p), setLoading(false)),
      (e) => live && (setError(e.message), setLoading(false)),
    );
    return () => { live = false; };
  }, [tokens]);
  return {
    page, error, loading, index: at,
    next: page?.nextToken ? () => setTokens([...tokens, page.nextToken]) : null,
    prev: at > 0 ? () => setTokens(tokens.slice(0, -1)) : null,
  };
}

function Pager({ p, label }: { p: ReturnType<typeof usePages>; label: string }) {
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={!p.prev} onClick={() => p.prev?.()}>Previous page</button>
      <span>Page {p.index + 1}</span>
      <button type="button" disabled={!p.next} onClick={() => p.next?.()}>Next page</button>
    </nav>
  );
}

function Table({ items, testid, caption, queue }: { items: Summary[]; testid: string; caption: string; queue?: boolean }) {
  if (!items.length) return <p>No requests.</p>;
  return (
    <div class="scroll">
      <table data-testid={testid}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Request</th>
            <th scope="col">Status</th>
            {queue && <th scope="col">Stage</th>}
            {queue && <th scope="col">Waiting</th>}
            {queue && <th scope="col">Reminders</th>}
            <th scope="col">Workspace</th>
            <th scope="col">Project</th>
            <th scope="col">Requested by</th>
            <th scope="col">Submitted</th>
            <th scope="col">Files</th>
          </tr>
        </thead>
        <tbody>
          {items.map((r) => (
            <tr key={r.egress_request_id} data-request-id={r.egress_request_id}>
              <td><a href={"#" + encodeURIComponent(r.egress_request_id)}>{r.egress_store_name || r.egress_request_id}</a>
                <div class="muted mono">{r.egress_request_id}</div></td>
              <td><span class={"status s-" + r.egress_status + (troubled.includes(r.egress_status) ? " bad" : "")}>{r.egress_status}</span></td>
              {queue && <td>{stageName(r)}</td>}
              {queue && <td title={date(r.awaiting_since || r.requested_dt)}>{age(r.awaiting_since || r.requested_dt)}</td>}
              {queue && <td>{r.reminders_sent ?? 0}</td>}
              <td>{r.workspace_id}</td>
              <td>{r.project_id}</td>
              <td>{r.requested_by}</td>
              <td>{date(r.requested_dt)}</td>
              <td>{r.file_count ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Body({ p, testid, caption, queue }: { p: ReturnType<typeof usePages>; testid: string; caption: string; queue?: boolean }) {
  return (
    <>
      {p.error && <p role="alert" class="error">{p.error}</p>}
      {p.loading && <p aria-live="polite">Loading…</p>}
      {!p.loading && p.page && <Table items={p.page.items || []} testid={testid} caption={caption} queue={queue} />}
      <Pager p={p} label={caption} />
    </>
  );
}

function Queue({ ctx }: { ctx: Ctx }) {
  const p = usePages(
    (t) => ctx.gql<{ reviewQueue: Page<Summary> }>(Q.queue, { limit: pageSize, nextToken: t }).then((d) => d.reviewQueue),
    [],
  );
  return (
    <>
      <h1>My queue</h1>
      <p>Requests awaiting a stage of your groups, oldest first.</p>
      <Body p={p} testid="queue-table" caption="Requests awaiting your decision" queue />
    </>
  );
}

function Requests({ ctx }: { ctx: Ctx }) {
  const [f, setF] = useState<Filter>({ status: "", workspace_id: "", project_id: "" });
  const [draft, setDraft] = useState<Filter>(f);
  const p = usePages((t) => {
    const filter: Record<string, string> = {};
    for (const [k, v] of Object.entries(f)) if (v.trim()) filter[k] = v.trim();
    return ctx.gql<{ requests: Page<Summary> }>(Q.requests, {
      filter: Object.keys(filter).length ? filter : null, limit: pageSize, nextToken: t,
    }).then((d) => d.requests);
  }, [f]);
  return (
    <>
      <h1>All requests</h1>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); setF(draft); }}>
        <label>Status
          <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: (e.target as HTMLSelectElement).value })}>
            <option value="">Any</option>
            {statuses.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Workspace
          <input value={draft.workspace_id} onInput={(e) => setDraft({ ...draft, workspace_id: (e.target as HTMLInputElement).value })} />
        </label>
        <label>Project
          <input value={draft.project_id} onInput={(e) => setDraft({ ...draft, project_id: (e.target as HTMLInputElement).value })} />
        </label>
        <button type="submit">Apply filters</button>
      </form>
      <Body p={p} testid="requests-table" caption="Requests" />
    </>
  );
}

function Mine({ ctx }: { ctx: Ctx }) {
  const p = usePages(
    (t) => ctx.gql<{ myRequests: Page<Summary> }>(Q.mine, { limit: pageSize, nextToken: t }).then((d) => d.myRequests),
    [],
  );
  return (
    <>
      <h1>My requests</h1>
      <Body p={p} testid="mine-table" caption="Your egress requests" />
    </>
  );
}

export function Lists({ ctx, path }: { ctx: Ctx; path: string }) {
  useEffect(() => {
    document.title = (({ "/queue": "My queue", "/requests": "All requests", "/mine": "My requests" } as Record<string, string>)[path] || "Page not found") + " · Egress console";
  }, [path]);
  switch (path) {
    case "/queue":
      return <Queue ctx={ctx} />;
    case "/requests":
      return <Requests ctx={ctx} />;
    case "/mine":
      return <Mine ctx={ctx} />;
  }
  return (
    <>
      <h1>Page not found</h1>
      <p>No page {path}. <a href="#/queue">Go to my queue</a>.</p>
    </>
  );
}

// stageName names the stage r awaits, with its group: "IG (InformationGovernance)".
function stageName(r: Summary & Partial<Pick<Detail, "approval_stages">>): string {
  const i = awaitingStage(r);
  const st = i >= 0 ? r.approval_stages?.[i] : undefined;
  if (!st) return r.current_reviewer_group || "";
  return st.name === st.group ? st.name : `${st.name} (${st.group})`;
}
