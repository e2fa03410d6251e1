package workflow_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/swb"
	"github.com/tre-egress/egress/shared/workflow"
)

func fileVote(stage string, index int, email string, files ...egress.FileDecision) egress.Review {
	return egress.Review{StageIndex: index, Stage: stage, Email: email, Decision: egress.Approved, Files: files}
}

func rejected(path, comment string) egress.FileDecision {
	return egress.FileDecision{Path: path, Decision: egress.Rejected, Comment: comment}
}

// TestReleaseLeavesOutRejectedFiles: only files no vote rejected go in the
// zip; the others are passed to WriteZip (for manifest.json) with the
// first rejecting stage's comment, and a release of nothing is refused.
func TestReleaseLeavesOutRejectedFiles(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		reviews     []egress.Review
		wantEntries []string
		wantLeftOut []egress.LeftOut
		wantCode    string
	}{
		{"nothing rejected", []egress.Review{fileVote("IG", 0, "ida@x"), fileVote("RIT", 1, "rob@x")},
			[]string{"a.csv", "b.csv", "c.csv"}, nil, ""},
		{"rejected at each stage", []egress.Review{
			fileVote("IG", 0, "ida@x", rejected("b.csv", "names"), egress.FileDecision{Path: "a.csv", Decision: egress.Approved}),
			fileVote("RIT", 1, "rob@x", rejected("c.csv", "too big"), rejected("b.csv", "also names")),
		}, []string{"a.csv"}, []egress.LeftOut{{Path: "b.csv", Stage: "IG", Comment: "names"}, {Path: "c.csv", Stage: "RIT", Comment: "too big"}}, ""},
		{"approved later, still left out", []egress.Review{
			fileVote("IG", 0, "ida@x", rejected("a.csv", "names")),
			fileVote("RIT", 1, "rob@x", egress.FileDecision{Path: "a.csv", Decision: egress.Approved}),
		}, []string{"b.csv", "c.csv"}, []egress.LeftOut{{Path: "a.csv", Stage: "IG", Comment: "names"}}, ""},
		{"every file rejected", []egress.Review{
			fileVote("IG", 0, "ida@x", rejected("a.csv", "1"), rejected("b.csv", "2")),
			fileVote("RIT", 1, "rob@x", rejected("c.csv", "3")),
		}, nil, nil, egress.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := request()
			r.Status, r.Reviews = egress.StatusRITApproved, tt.reviews
			r.StagingObjectMetadataVersion = "manifests/" + wsID + "/" + reqID + ".json"
			r = e.put(t, r)
			e.objs.manifests[staging+"/"+r.StagingObjectMetadataVersion] = egress.Manifest{RequestID: reqID, Files: []egress.File{
				{Path: "a.csv", StagedVersionID: "va", SHA256: "sa"}, {Path: "b.csv", StagedVersionID: "vb", SHA256: "sb"}, {Path: "c.csv", StagedVersionID: "vc", SHA256: "sc"},
			}}
			out, err := e.h.Release(ctx, workflow.RequestInput{RequestID: reqID})
			got := e.reqs.get(t, reqID)
			if tt.wantCode != "" {
				wantCode(t, err, tt.wantCode)
				if !strings.Contains(err.Error(), "every file was rejected, nothing to release") {
					t.Fatalf("err = %v", err)
				}
				if len(e.objs.zipped) != 0 || got.Released() || e.store.row(wsID).Status != swb.StoreProcessing {
					t.Fatalf("zipped %v, released %v, store %+v: a refused release must do nothing", e.objs.zipped, got.Released(), e.store.row(wsID))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, z := range e.objs.zipped {
				paths = append(paths, z.Path)
			}
			if !slices.Equal(paths, tt.wantEntries) {
				t.Fatalf("zip entries %v, want %v", paths, tt.wantEntries)
			}
			if !reflect.DeepEqual(e.objs.leftOut, tt.wantLeftOut) {
				t.Fatalf("left out %+v, want %+v", e.objs.leftOut, tt.wantLeftOut)
			}
			if !got.Released() || got.ZipKey != out.ZipKey || got.Status != egress.StatusRITApproved || e.store.row(wsID).Status != swb.StoreProcessed {
				t.Fatalf("request %+v, store %+v", got, e.store.row(wsID))
			}
		})
	}
}

// TestHandleRejectionStatuses: only a request a person ended (REJECTED,
// RETURNED, CANCELLED) has its staged copies deleted and its store
// unlocked here.
func TestHandleRejectionStatuses(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		status egress.Status
		ok     bool
	}{
		{egress.StatusRejected, true}, {egress.StatusReturned, true}, {egress.StatusCancelled, true}, {egress.StatusBlocked, true},
		{egress.StatusProcessing, false}, {egress.StatusIGApproved, false}, {"STAGE2APPROVED", false},
		{egress.StatusRITApproved, false}, {egress.StatusFailed, false}, {egress.StatusExpired, false}, {egress.StatusRevoked, false},
	} {
		t.Run(string(tt.status), func(t *testing.T) {
			e := newEnv(t)
			r := request()
			r.Status = tt.status
			e.put(t, r)
			err := e.h.HandleRejection(ctx, workflow.RequestInput{RequestID: reqID})
			if !tt.ok {
				wantCode(t, err, egress.ECONFLICT)
				if !strings.Contains(err.Error(), "not REJECTED, RETURNED, CANCELLED or BLOCKED") {
					t.Fatalf("err = %v", err)
				}
				if len(e.objs.deleted) != 0 || e.store.row(wsID).Status != swb.StoreProcessing {
					t.Fatalf("deleted %v, store %+v: a refused clean-up must do nothing", e.objs.deleted, e.store.row(wsID))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(e.objs.deleted, staging+"/"+egress.StagingPrefix(r)) || e.store.row(wsID) != (storeRow{Status: swb.StorePending}) {
				t.Fatalf("deleted %v, store %+v", e.objs.deleted, e.store.row(wsID))
			}
		})
	}
}

// TestNotifyEndedByAPerson: the requester is told of a return or a
// cancellation (kind in any case) with the reviewers' comments; a
// cancellation also tells the group of the stage the request awaited.
func TestNotifyEndedByAPerson(t *testing.T) {
	ctx := context.Background()
	const researcher = "researcher@example.org"
	ig := egress.Review{StageIndex: 0, Stage: "IG", Group: egress.GroupIG, Email: "ida@example.org", Decision: egress.Approved,
		Files: []egress.FileDecision{rejected("tables/names.csv", "has patient names")}}
	panelStages := []egress.StageSpec{{Name: "IG", Group: egress.GroupIG}, {Name: "Panel", Group: "Panel", Reviewers: 2}, {Name: "RIT", Group: egress.GroupRIT}}
	tests := []struct {
		name      string
		kind      string
		status    egress.Status
		stages    []egress.StageSpec
		reviews   []egress.Review
		subject   string
		cc        []string
		text      []string
		groupTold []string // members e-mailed the cancellation
	}{
		{name: "returned", kind: "returned", status: egress.StatusReturned,
			reviews: []egress.Review{ig, {StageIndex: 1, Stage: "RIT", Group: egress.GroupRIT, Email: "rob@example.org", Decision: egress.Returned, Reason: "round the counts"}},
			subject: "returned for changes", cc: []string{"ida@example.org"},
			text: []string{"What to change (RIT stage): round the counts", "tables/names.csv (IG stage): has patient names", "Nothing was released"}},
		{name: "RETURNED as the definition sends it", kind: "RETURNED", status: egress.StatusReturned,
			reviews: []egress.Review{{StageIndex: 0, Stage: "IG", Group: egress.GroupIG, Email: "ida@example.org", Decision: egress.Returned, Reason: "add a README"}},
			subject: "returned for changes", cc: []string{"ida@example.org"}, text: []string{"What to change (IG stage): add a README"}},
		{name: "cancelled at the first stage", kind: "cancelled", status: egress.StatusCancelled,
			subject: "cancelled", text: []string{"cancelled by admin@example.org", "Reason: wrong workspace"},
			groupTold: []string{"ida@example.org", "ig2@example.org"}},
		{name: "CANCELLED at the second stage", kind: "CANCELLED", status: egress.StatusCancelled, reviews: []egress.Review{ig},
			subject: "cancelled", text: []string{"Reason: wrong workspace"}, groupTold: []string{"rob@example.org"}},
		{name: "Cancelled at a blinded stage with one vote in", kind: "Cancelled", status: egress.StatusCancelled, stages: panelStages,
			reviews: []egress.Review{ig, {StageIndex: 1, Stage: "Panel", Group: "Panel", Email: "pat@example.org", Decision: egress.Approved}},
			subject: "cancelled", text: []string{"Reason: wrong workspace"}, groupTold: []string{"pat@example.org", "pam@example.org"}},
		// Every file rejected, every vote an approval: the requester is
		// still told which files and why.
		{name: "rejected for every file", kind: "rejected", status: egress.StatusRejected,
			reviews: []egress.Review{{StageIndex: 0, Stage: "IG", Group: egress.GroupIG, Email: "ida@example.org", Decision: egress.Approved,
				Files: []egress.FileDecision{rejected("a.csv", "names in column 2"), rejected("b.csv", "small counts")}}},
			subject: "rejected", cc: []string{"ida@example.org"},
			text: []string{"a.csv (IG stage): names in column 2", "b.csv (IG stage): small counts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			dir := &fakeDirectory{members: map[string][]string{
				egress.GroupIG:  {"ida@example.org", "ig2@example.org"},
				egress.GroupRIT: {"rob@example.org"},
				"Panel":         {"pat@example.org", "pam@example.org"},
			}}
			e.h.Directory = dir
			r := request()
			r.Status, r.Stages, r.Reviews = tt.status, tt.stages, tt.reviews
			if tt.status == egress.StatusCancelled {
				r.EndedBy, r.EndReason = "admin@example.org", "wrong workspace"
			}
			e.put(t, r)
			if err := e.h.Notify(ctx, workflow.NotifyInput{RequestID: reqID, Kind: tt.kind}); err != nil {
				t.Fatal(err)
			}
			got := e.mail.to(researcher)
			if len(got) != 1 {
				t.Fatalf("requester e-mails %+v, want one", got)
			}
			m := got[0]
			if !strings.Contains(m.Subject, reqID) || !strings.Contains(m.Subject, tt.subject) || !slices.Equal(m.Cc, tt.cc) {
				t.Errorf("subject %q cc %v, want %q and %v", m.Subject, m.Cc, tt.subject, tt.cc)
			}
			for _, s := range tt.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, m.Text)
				}
			}
			var told []string
			for _, s := range e.mail.sent {
				if s.To[0] != researcher {
					told = append(told, s.To...)
					if !strings.Contains(s.Subject, "was cancelled") || !strings.Contains(s.Text, "needs no decision") || !strings.Contains(s.Text, "wrong workspace") {
						t.Errorf("group notice %+v", s)
					}
				}
			}
			slices.Sort(told)
			want := slices.Sorted(slices.Values(tt.groupTold))
			if !slices.Equal(told, want) {
				t.Errorf("group members told %v, want %v", told, want)
			}
		})
	}
}
