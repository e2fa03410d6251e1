import { useEffect, useState } from "preact/hooks";
import type { Ctx } from "./ctx";
import { Q, type Detail, type FileFinding, type FilePreview, type PagedFile } from "./gql";
import { awaitingStage, date, humanSize, shortHash, troubled } from "./util";

type Vote = "APPROVED" | "REJECTED" | "RETURNED";
interface FileVote {
  decision: "" | "APPROVED" | "REJECTED";
  comment: string;
}

const minReason = 10;
const filesPerPage = 50;

function Field({ label, children }: { label: string; children: any }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

function Findings({ list }: { list: FileFinding[] }) {
  if (!list.length) return <span class="muted">none</span>;
  return (
    <ul class="findings">
      {list.map((f, i) => (
        <li key={i} class={"sev-" + f.severity}>
          <strong>{f.severity}</strong> {f.check}: {f.message}
        </li>
      ))}
    </ul>
  );
}

function Hash({ h }: { h: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <span class="hash">
      <code title={h}>{shortHash(h)}</code>{" "}
      <button type="button" class="small" aria-label={`Copy SHA-256 ${h}`}
        onClick={() => navigator.clipboard?.writeText(h).then(() => setCopied(true), () => {})}>
        {copied ? "Copied" : "Copy"}
      </button>
    </span>
  );
}

function Preview({ p, error, loading }: { p: FilePreview | null; error: string; loading: string }) {
  return (
    <aside class="preview" data-testid="preview-panel" aria-labelledby="preview-h" aria-live="polite">
      <h2 id="preview-h">Preview{p ? `: ${p.path}` : ""}</h2>
      {loading && <p>Loading {loading}…</p>}
      {error && <p role="alert" class="error">{error}</p>}
      {!p && !loading && !error && <p class="muted">Choose Preview on a file to see it here.</p>}
      {p && !loading && (
        <>
          <p class="muted">{p.content_type}, {humanSize(p.size)}{p.truncated ? "; the first part only" : ""}</p>
          {p.rows && p.rows.length > 0 ? (
            <div class="scroll">
              <table class="csv">
                <caption>First rows of {p.path}</caption>
                <thead><tr>{p.rows[0].map((c, i) => <th scope="col" key={i}>{c}</th>)}</tr></thead>
                <tbody>{p.rows.slice(1).map((r, i) => <tr key={i}>{r.map((c, j) => <td key={j}>{c}</td>)}</tr>)}</tbody>
              </table>
            </div>
          ) : p.lines && p.lines.length > 0 ? (
            <pre tabIndex={0} aria-label={`First lines of ${p.path}`}>{p.lines.join("\n")}</pre>
          ) : p.content_type.startsWith("image/") ? (
            <img src={p.url} alt={`Image ${p.path}`} class="img" />
          ) : (
            <p>No preview for this type: {p.content_type}, {humanSize(p.size)}.</p>
          )}
        </>
      )}
    </aside>
  );
}

export function RequestPage({ ctx, id }: { ctx: Ctx; id: string }) {
  const [r, setR] = useState<Detail | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [gen, setGen] = useState(0);
  const [files, setFiles] = useState<PagedFile[]>([]);
  const [findings, setFindings] = useState<Map<string, FileFinding[]>>(new Map());
  const [fileTokens, setFileTokens] = useState<(string | null)[]>([null]);
  const [filesNext, setFilesNext] = useState<string | null>(null);
  const [filesError, setFilesError] = useState("");
  const [votes, setVotes] = useState<Map<string, FileVote>>(new Map());
  const [preview, setPreview] = useState<FilePreview | null>(null);
  const [previewError, setPreviewError] = useState("");
  const [previewing, setPreviewing] = useState("");

  const refresh = () => setGen(gen + 1);

  useEffect(() => {
    document.title = `Request ${id} · Egress console`;
    let live = true;
    ctx.gql<{ getRequest: Detail | null }>(Q.request, { id }).then(
      async (d) => {
        if (!live) return;
        const got = d.getRequest;
        if (!got) return setError(`No request ${id}, or you may not see it.`);
        if (got.previous_request_id && ctx.reviewer) {
          try {
            const c = await ctx.gql<{ getRequest: Pick<Detail, "changes"> | null }>(Q.changes, { id });
            got.changes = c.getRequest?.changes || null;
          } catch (e) {
            if (live) setError(`what changed since ${got.previous_request_id}: ${(e as Error).message}`);
            return;
          }
        }
        if (live) (setR(got), setError(""));
      },
      (e) => live && setError(e.message),
    );
    return () => { live = false; };
  }, [id, gen]);

  const fileToken = fileTokens[fileTokens.length - 1];
  useEffect(() => {
    let live = true;
    ctx.gql<{ getRequest: { filePage: { items: PagedFile[] | null; nextToken: string | null; findings: FileFinding[] | null } } | null }>(
      Q.files, { id, limit: filesPerPage, nextToken: fileToken },
    ).then(
      (d) => {
        if (!live || !d.getRequest) return;
        const pg = d.getRequest.filePage;
        const m = new Map<string, FileFinding[]>();
        for (const f of pg.findings || []) {
          const k = f.path || "";
          m.set(k, [...(m.get(k) || []), f]);
        }
        setFiles(pg.items || []);
        setFindings(m);
        setFilesNext(pg.nextToken);
        setFilesError("");
      },
      (e) => live && setFilesError(e.message),
    );
    return () => { live = false; };
  }, [id, gen, fileToken]);

  if (error) return (<><h1>Request {id}</h1><p role="alert" class="error">{error}</p></>);
  if (!r) return (<><h1>Request {id}</h1><p aria-live="polite">Loading…</p></>);

  const stage = awaitingStage(r);
  const stages = r.approval_stages || [];
  const awaitedGroup = stage >= 0 ? stages[stage]?.group || r.current_reviewer_group || "" : "";
  const inAwaitedGroup = !!awaitedGroup && ctx.session.user.groups.includes(awaitedGroup);
  const canDecide = stage >= 0 && !!r.task_token && inAwaitedGroup;
  const canPreview = stage >= 0 && (inAwaitedGroup || ctx.admin);
  const released = !!r.released_dt && r.egress_status !== "REVOKED";
  const trouble = troubled.includes(r.egress_status) && (r.end_reason || r.failure_cause || r.revoke_reason);

  // act runs an action; on success it says so and reloads the request
  // (a failure is shown by the action's own form).
  const act = async (what: string, f: () => Promise<unknown>) => {
    setNotice("");
    await f();
    done(what);
  };
  const done = (what: string) => {
    setNotice(what);
    setVotes(new Map());
    refresh();
  };

  const showPreview = async (path: string) => {
    setPreviewing(path);
    setPreviewError("");
    try {
      const d = await ctx.gql<{ previewFile: FilePreview }>(Q.preview, { id, path });
      setPreview(d.previewFile);
    } catch (e) {
      setPreview(null);
      setPreviewError((e as Error).message);
    } finally {
      setPreviewing("");
    }
  };

  const setVote = (path: string, v: Partial<FileVote>) => {
    const m = new Map(votes);
    m.set(path, { ...(m.get(path) || { decision: "", comment: "" }), ...v });
    setVotes(m);
  };

  return (
    <>
      <h1>Request {r.egress_store_name || r.egress_request_id}</h1>
      <div role="status" aria-live="polite" class={notice ? "notice" : "sr-only"}>{notice}</div>
      {trouble && (
        <div role="alert" class="alert">
          <strong>{r.egress_status}</strong>{r.ended_by ? ` by ${r.ended_by}` : ""}: {r.end_reason || r.failure_cause || r.revoke_reason}
        </div>
      )}
      <section aria-labelledby="summary-h">
        <h2 id="summary-h" class="sr-only">Summary</h2>
        <dl class="facts">
          <Field label="Status"><span data-testid="request-status" class={"status s-" + r.egress_status + (troubled.includes(r.egress_status) ? " bad" : "")}>{r.egress_status}</span></Field>
          <Field label="Request id"><code>{r.egress_request_id}</code></Field>
          <Field label="Workspace">{r.workspace_id}</Field>
          <Field label="Project">{r.project_id}</Field>
          <Field label="Requested by">{r.requested_by}</Field>
          <Field label="Submitted">{date(r.requested_dt)}</Field>
          <Field label="Updated">{date(r.updated_dt)}</Field>
          {r.awaiting_since && stage >= 0 && <Field label="Waiting since">{date(r.awaiting_since)} ({r.reminders_sent ?? 0} reminders sent)</Field>}
          {r.released_dt && <Field label="Released">{date(r.released_dt)}</Field>}
          {r.revoked_dt && <Field label="Revoked">{date(r.revoked_dt)} by {r.revoked_by}: {r.revoke_reason}</Field>}
          {r.downloads_left != null && <Field label="Downloads left">{r.downloads_left}</Field>}
        </dl>
        {stages.length > 0 && (
          <ol class="stages" aria-label="Approval stages">
            {stages.map((s, i) => (
              <li key={i} class={i === stage ? "current" : i < stage || (stage < 0 && !!r.released_dt) ? "done" : ""} aria-current={i === stage ? "step" : undefined}>
                {s.name} <span class="muted">({s.group}{s.reviewers > 1 ? `, ${s.reviewers} reviewers` : ""})</span>
                {i === stage ? " — awaiting" : ""}
              </li>
            ))}
          </ol>
        )}
      </section>

      {r.checks && (
        <section aria-labelledby="checks-h">
          <h2 id="checks-h">Automated checks</h2>
          <p>
            Malware engine <strong>{r.checks.engine}</strong>. Findings: {r.checks.blocking} blocking, {r.checks.warnings} warnings,
            {" "}{r.checks.info} notes{r.checks.files ? `, in ${r.checks.files} of ${r.file_count ?? "the"} files` : ", none on any file"}.
          </p>
          {r.checks.notable && r.checks.notable.length > 0 && (
            <ul class="findings">
              {r.checks.notable.map((f, i) => (
                <li key={i} class={"sev-" + f.severity}><strong>{f.severity}</strong> {f.path ? <code>{f.path}</code> : "request"} {f.check}: {f.message}</li>
              ))}
            </ul>
          )}
        </section>
      )}

      {r.previous_request && (
        <section aria-labelledby="changes-h">
          <h2 id="changes-h">What changed since the returned attempt</h2>
          <p>
            Previous attempt <a href={"#" + encodeURIComponent(r.previous_request.egress_request_id)}>{r.previous_request.egress_request_id}</a>
            {" "}({r.previous_request.egress_status}, {date(r.previous_request.updated_dt)}).
            {r.changes && ` ${r.changes.added} added, ${r.changes.removed} removed, ${r.changes.changed} changed.`}
          </p>
          {r.previous_request.comments && r.previous_request.comments.length > 0 && (
            <>
              <h3>What the reviewers said</h3>
              <ul>
                {r.previous_request.comments.map((c, i) => (
                  <li key={i}>{c.stage} {c.name || ""} {c.decision}{c.path ? <> on <code>{c.path}</code></> : ""}: {c.comment}</li>
                ))}
              </ul>
            </>
          )}
          {r.changes?.items && r.changes.items.length > 0 && (
            <ul>
              {r.changes.items.map((c) => <li key={c.path}><code>{c.path}</code> {c.change}</li>)}
            </ul>
          )}
        </section>
      )}

      <div class="review">
        <section aria-labelledby="files-h" class="files">
          <h2 id="files-h">Files{r.file_count != null ? ` (${r.file_count})` : ""}</h2>
          {filesError && <p role="alert" class="error">{filesError}</p>}
          <div class="scroll">
            <table data-testid="files-table">
              <caption class="sr-only">Staged files</caption>
              <thead>
                <tr>
                  <th scope="col">Path</th>
                  <th scope="col">Size</th>
                  <th scope="col">Type</th>
                  <th scope="col">Findings</th>
                  <th scope="col">SHA-256</th>
                  {canPreview && <th scope="col">Preview</th>}
                  {canDecide && <th scope="col">Your decision</th>}
                </tr>
              </thead>
              <tbody>
                {files.map((f) => {
                  const v = votes.get(f.path) || { decision: "", comment: "" };
                  const name = "file-" + f.path;
                  return (
                    <tr key={f.path} data-path={f.path} class={preview?.path === f.path ? "selected" : ""}>
                      <th scope="row"><code>{f.path}</code></th>
                      <td>{humanSize(f.size)}</td>
                      <td title={f.content_type || undefined}>{f.content_type ? f.content_type.split(";")[0] : <span class="muted">not checked</span>}</td>
                      <td><Findings list={findings.get(f.path) || []} /></td>
                      <td><Hash h={f.sha256} /></td>
                      {canPreview && (
                        <td><button type="button" aria-label={`Preview ${f.path}`} disabled={previewing === f.path} onClick={() => showPreview(f.path)}>Preview</button></td>
                      )}
                      {canDecide && (
                        <td>
                          <fieldset class="filevote">
                            <legend class="sr-only">Decision on {f.path}</legend>
                            <label><input type="radio" name={name} value="APPROVED" checked={v.decision === "APPROVED"}
                              aria-label={`Approve file ${f.path}`} onChange={() => setVote(f.path, { decision: "APPROVED" })} /> Approve</label>
                            <label><input type="radio" name={name} value="REJECTED" checked={v.decision === "REJECTED"}
                              aria-label={`Reject file ${f.path}`} onChange={() => setVote(f.path, { decision: "REJECTED" })} /> Reject</label>
                            <label class="block">Comment
                              <input type="text" value={v.comment} aria-label={`Comment on ${f.path}`}
                                onInput={(e) => setVote(f.path, { comment: (e.target as HTMLInputElement).value })} />
                            </label>
                          </fieldset>
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="File pages">
            <button type="button" disabled={fileTokens.length < 2} onClick={() => setFileTokens(fileTokens.slice(0, -1))}>Previous files</button>
            <span>Page {fileTokens.length}</span>
            <button type="button" disabled={!filesNext} onClick={() => setFileTokens([...fileTokens, filesNext])}>Next files</button>
          </nav>
        </section>
        {canPreview && <Preview p={preview} error={previewError} loading={previewing} />}
      </div>

      {canDecide && <Decision ctx={ctx} r={r} votes={votes} onDone={done} stageName={stages[stage]?.name || awaitedGroup} />}

      {released && ctx.downloader && <DownloadBox ctx={ctx} r={r} onDone={done} />}

      {ctx.admin && (
        <section aria-labelledby="admin-h">
          <h2 id="admin-h">Administration</h2>
          {stage >= 0 && <ReasonAction label="Cancel request" run={(reason) => act("Request cancelled.", () => ctx.gql(Q.cancel, { id, reason }))} />}
          {released && <ReasonAction label="Revoke" run={(reason) => act("Release revoked.", () => ctx.gql(Q.revoke, { id, reason }))} />}
          {(released || r.egress_status === "REVOKED") && <Verify ctx={ctx} id={id} />}
          {stage < 0 && !released && <p class="muted">No administrative action applies to a {r.egress_status} request.</p>}
        </section>
      )}
      {!ctx.admin && ctx.researcher && stage >= 0 && (
        <section aria-labelledby="own-h">
          <h2 id="own-h">Your request</h2>
          <ReasonAction label="Cancel request" run={(reason) => act("Request cancelled.", () => ctx.gql(Q.cancel, { id, reason }))} />
        </section>
      )}

      {r.reviews && r.reviews.length > 0 && (
        <section aria-labelledby="reviews-h">
          <h2 id="reviews-h">Reviews</h2>
          <ul class="reviews">
            {r.reviews.map((v, i) => (
              <li key={i}>
                <strong>{v.stage}</strong> {v.name || v.email || ""} <span class={"status s-" + v.decision}>{v.decision}</span> {date(v.dt)}
                {v.reason && <div>Reason: {v.reason}</div>}
                {v.files && v.files.length > 0 && (
                  <ul>{v.files.map((f) => <li key={f.path}><code>{f.path}</code> {f.decision}{f.comment ? `: ${f.comment}` : ""}</li>)}</ul>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}

      <section aria-labelledby="history-h">
        <h2 id="history-h">History</h2>
        {r.history && r.history.length > 0 ? (
          <ol class="timeline" data-testid="history">
            {r.history.map((e, i) => (
              <li key={i}>
                <time dateTime={e.at}>{date(e.at)}</time> <strong>{e.kind}</strong>
                {e.from_status || e.to_status ? ` ${e.from_status || "—"} → ${e.to_status || "—"}` : ""}
                {e.stage ? ` (${e.stage})` : ""}{e.actor ? ` by ${e.actor}` : ""}{e.reason ? `: ${e.reason}` : ""}
              </li>
            ))}
          </ol>
        ) : <p class="muted">No events recorded.</p>}
      </section>
    </>
  );

}

function Decision({ ctx, r, votes, stageName, onDone }: { ctx: Ctx; r: Detail; votes: Map<string, FileVote>; stageName: string; onDone: (m: string) => void }) {
  const [decision, setDecision] = useState<Vote | "">("");
  const [reason, setReason] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const decided = [...votes.entries()].filter(([, v]) => v.decision);
  const rejected = decided.filter(([, v]) => v.decision === "REJECTED").length;
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    if (!decision) return setError("Choose Approve, Reject or Return for changes.");
    if (decision !== "APPROVED" && reason.trim().length < minReason)
      return setError(`A reason of at least ${minReason} characters is required to ${decision === "REJECTED" ? "reject" : "return"} a request.`);
    setBusy(true);
    try {
      await ctx.gql(Q.review, {
        request: {
          egress_request_id: r.egress_request_id,
          task_token: r.task_token,
          decision,
          reason: reason.trim() || null,
          files: decided.map(([path, v]) => ({ path, decision: v.decision, comment: v.comment.trim() || null })),
        },
      });
      onDone(`Decision recorded: ${decision} at ${stageName}.`);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="decide-h">
      <h2 id="decide-h">Your decision ({stageName})</h2>
      <form data-testid="decision-form" onSubmit={submit} noValidate>
        <fieldset>
          <legend>Decision on the request</legend>
          {([["APPROVED", "Approve"], ["REJECTED", "Reject"], ["RETURNED", "Return for changes"]] as [Vote, string][]).map(([v, l]) => (
            <label key={v} class="choice"><input type="radio" name="decision" value={v} checked={decision === v} onChange={() => setDecision(v)} /> {l}</label>
          ))}
        </fieldset>
        <label class="block" for="reason">Reason {decision && decision !== "APPROVED" ? `(required, at least ${minReason} characters)` : "(optional when approving)"}</label>
        <textarea id="reason" rows={3} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
          aria-required={decision !== "APPROVED"} aria-invalid={!!error} aria-describedby={error ? "decision-error" : undefined} />
        <p class="muted">{decided.length} file decisions on this request{rejected ? `, ${rejected} files rejected (left out of the release)` : ""}.</p>
        {error && <p id="decision-error" role="alert" class="error">{error}</p>}
        <button type="submit" disabled={busy}>Submit decision</button>
      </form>
    </section>
  );
}

function ReasonAction({ label, run }: { label: string; run: (reason: string) => Promise<unknown> }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const fid = "r-" + label.replace(/\W+/g, "-").toLowerCase();
  if (!open) return <p><button type="button" class="danger" onClick={() => setOpen(true)}>{label}</button></p>;
  return (
    <form class="action" onSubmit={async (e) => {
      e.preventDefault();
      if (!reason.trim()) return setError("A reason is required.");
      setBusy(true);
      setError("");
      try {
        await run(reason.trim());
        setOpen(false);
      } catch (err) {
        setError((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <label for={fid}>Reason to {label.toLowerCase()} (required)</label>
      <textarea id={fid} rows={2} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} aria-required="true" />
      {error && <p role="alert" class="error">{error}</p>}
      <button type="submit" class="danger" disabled={busy}>{label}</button>{" "}
      <button type="button" onClick={() => setOpen(false)}>Keep it</button>
    </form>
  );
}

function Verify({ ctx, id }: { ctx: Ctx; id: string }) {
  const [res, setRes] = useState<null | { ok: boolean; checked_at: string; entries_checked: number; problem_count: number; problems: { path: string; problem: string }[] | null }>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <div class="verify">
      <p><button type="button" disabled={busy} onClick={async () => {
        setBusy(true);
        setError("");
        try {
          setRes((await ctx.gql<{ verifyRelease: any }>(Q.verify, { id })).verifyRelease);
        } catch (e) {
          setError((e as Error).message);
        } finally {
          setBusy(false);
        }
      }}>Verify release</button></p>
      <div aria-live="polite" data-testid="verify-result">
        {error && <p role="alert" class="error">{error}</p>}
        {res && (res.ok ? (
          <p class="ok">Release verified: ok, {res.entries_checked} entries checked at {date(res.checked_at)}.</p>
        ) : (
          <div class="alert">
            <p>Release verification found {res.problem_count} problems:</p>
            <ul>{(res.problems || []).map((p, i) => <li key={i}><code>{p.path}</code>: {p.problem}</li>)}</ul>
          </div>
        ))}
      </div>
    </div>
  );
}

function DownloadBox({ ctx, r, onDone }: { ctx: Ctx; r: Detail; onDone: (m: string) => void }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const left = r.downloads_left;
  return (
    <section aria-labelledby="download-h">
      <h2 id="download-h">Download</h2>
      <p>Downloads left: <strong data-testid="downloads-left">{left ?? "unknown"}</strong> of {ctx.cfg.maxDownloads}.</p>
      {error && <p role="alert" class="error">{error}</p>}
      <button type="button" disabled={busy || left === 0} onClick={async () => {
        setBusy(true);
        setError("");
        try {
          const d = await ctx.gql<{ downloadData: { presign_url: string | null } | null }>(Q.download, {
            request: { egress_request_id: r.egress_request_id, workspace_id: r.workspace_id, download_count: r.download_count || "0" },
          });
          const url = d.downloadData?.presign_url;
          // Only a web link is followed, whatever the API answered.
          if (!url || !/^https?:\/\//i.test(url)) throw new Error("no download link returned");
          // The zip comes as an attachment: the page stays, and shows
          // the count the API now holds.
          location.assign(url);
          onDone("Download started.");
        } catch (e) {
          setError((e as Error).message);
        } finally {
          setBusy(false);
        }
      }}>Download</button>
    </section>
  );
}
