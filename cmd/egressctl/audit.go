package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// auditEvent is one event of auditTrail, and one line of `audit export`
// (with the request id, so that a line stands alone).
type auditEvent struct {
	RequestID    string  `json:"egress_request_id"`
	Sequence     int64   `json:"sequence"`
	At           string  `json:"at"`
	Kind         string  `json:"kind"`
	Actor        *string `json:"actor"`
	FromStatus   *string `json:"from_status"`
	ToStatus     *string `json:"to_status"`
	Stage        *string `json:"stage"`
	Reason       *string `json:"reason"`
	WorkspaceID  *string `json:"workspace_id"`
	ProjectID    *string `json:"project_id"`
	PreviousHash string  `json:"previous_hash"`
	Hash         string  `json:"hash"`
}

// auditTrail is a request's whole trail: every page of auditTrail, sorted
// by sequence, with the head and length the request records.
type auditTrail struct {
	Events []auditEvent
	Head   string
	Length int64
}

const auditQuery = `query Audit($id: String!, $limit: Int, $nextToken: String) {
  auditTrail(egress_request_id: $id, limit: $limit, nextToken: $nextToken) {
    items { sequence at kind actor from_status to_status stage reason workspace_id project_id previous_hash hash }
    nextToken
    head
    length
  }
}`

// auditPageLimit is the page size asked for.
const auditPageLimit = 500

func fetchAudit(ctx context.Context, c *Client, id string) (auditTrail, error) {
	var t auditTrail
	token := ""
	for pages := 0; ; pages++ {
		vars := map[string]any{"id": id, "limit": auditPageLimit}
		if token != "" {
			vars["nextToken"] = token
		}
		var res struct {
			P *struct {
				Items     []auditEvent `json:"items"`
				NextToken *string      `json:"nextToken"`
				Head      string       `json:"head"`
				Length    float64      `json:"length"`
			} `json:"auditTrail"`
		}
		if err := c.Do(ctx, auditQuery, vars, &res); err != nil {
			return t, err
		}
		if res.P == nil {
			return t, &APIError{Type: "NotFoundError", Message: fmt.Sprintf("no request %s", id)}
		}
		if pages == 0 {
			// The first page's head and length: later pages read the same
			// request, and a trail growing meanwhile shows as a link beyond
			// the recorded length rather than passing unchecked.
			t.Head, t.Length = res.P.Head, int64(res.P.Length)
		}
		for _, e := range res.P.Items {
			e.RequestID = id
			t.Events = append(t.Events, e)
		}
		if res.P.NextToken == nil || *res.P.NextToken == "" {
			break
		}
		if *res.P.NextToken == token {
			return t, fmt.Errorf("auditTrail returned the same nextToken twice")
		}
		token = *res.P.NextToken
	}
	slices.SortStableFunc(t.Events, func(a, b auditEvent) int { return cmp.Compare(a.Sequence, b.Sequence) })
	if t.Events == nil {
		t.Events = []auditEvent{}
	}
	return t, nil
}

// brokenLink is the first broken link of a chain (egress.ChainError).
type brokenLink struct {
	Sequence int64  `json:"sequence"`
	Kind     string `json:"kind"`
	Reason   string `json:"reason"`
}

// auditVerifyOutput is `audit verify --json`.
type auditVerifyOutput struct {
	ID     string      `json:"egress_request_id"`
	OK     bool        `json:"ok"`
	Head   string      `json:"head"`
	Length int64       `json:"length"`
	Events int         `json:"events"`
	Broken *brokenLink `json:"broken"`
}

func auditCmd(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("audit: want verify ID or export ID")
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, a, args[1:])
	case "export":
		return auditExport(ctx, a, args[1:])
	}
	return usagef("audit: unknown subcommand %q: want verify or export", args[0])
}

func auditVerify(ctx context.Context, a *app, args []string) error {
	pos, err := a.parse(a.flags("audit verify"), args, "request id")
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	t, err := fetchAudit(ctx, c, pos[0])
	if err != nil {
		return err
	}
	out := auditVerifyOutput{ID: pos[0], OK: true, Head: t.Head, Length: t.Length, Events: len(t.Events)}
	if err := verifyChain(pos[0], t); err != nil {
		var bl *brokenLink
		if !errors.As(err, &bl) {
			return err
		}
		out.OK, out.Broken = false, bl
	}
	if a.opts.json {
		if err := a.writeJSON(out); err != nil {
			return err
		}
	} else if out.OK {
		fmt.Fprintf(a.stdout, "%s: audit trail intact: %d events, head %s\n", out.ID, out.Events, out.Head)
	} else {
		fmt.Fprintf(a.stdout, "%s: audit trail BROKEN at event %d", out.ID, out.Broken.Sequence)
		if out.Broken.Kind != "" {
			fmt.Fprintf(a.stdout, " (%s)", out.Broken.Kind)
		}
		fmt.Fprintf(a.stdout, ": %s\n", out.Broken.Reason)
	}
	if !out.OK {
		return &checkFailed{fmt.Errorf("audit trail of %s broken at event %d", out.ID, out.Broken.Sequence)}
	}
	return nil
}

func (b *brokenLink) Error() string {
	return fmt.Sprintf("audit trail broken at event %d (%s): %s", b.Sequence, b.Kind, b.Reason)
}

func auditExport(ctx context.Context, a *app, args []string) error {
	fs := a.flags("audit export")
	outFile := fs.String("o", "", "write to this file instead of stdout")
	pos, err := a.parse(fs, args, "request id")
	if err != nil {
		return err
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	t, err := fetchAudit(ctx, c, pos[0])
	if err != nil {
		return err
	}
	if *outFile == "" {
		return writeJSONLines(a.stdout, t.Events)
	}
	f, err := os.OpenFile(*outFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if err := writeJSONLines(f, t.Events); err != nil {
		f.Close()
		return fmt.Errorf("audit export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	fmt.Fprintf(a.stderr, "wrote %d events to %s\n", len(t.Events), *outFile)
	return nil
}

// writeJSONLines writes one compact JSON object a line.
func writeJSONLines(w io.Writer, events []auditEvent) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return bw.Flush()
}
