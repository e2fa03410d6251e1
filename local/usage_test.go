package local

import (
	"context"
	"testing"
	"time"
)

// TestUsage runs the same two-stage approval twice on a stack of its own
// and checks the ledger counts what the request did: one CopyObject per
// file, the same state transitions and GraphQL requests both times, the
// release's GB-seconds, the e-mails and the audit events published.
func TestUsage(t *testing.T) {
	s, err := Start(context.Background(), Options{Clock: clock, StageTimeout: 48 * time.Hour, ClamdOwnSignaturesOnly: true})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	const files = 4 // in testdata/sample-store
	run := func() Usage {
		t.Helper()
		before := s.Usage()
		rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"approve", "approve"}, s.GraphQLDecider())
		if err != nil {
			t.Fatal(err)
		}
		if !rep.ExpectedResult {
			t.Fatalf("scenario: %v", rep.Problems)
		}
		if _, err := s.Events(ctx(t)); err != nil { // publish-events' share
			t.Fatal(err)
		}
		return s.Usage().Sub(before)
	}
	first, second := run(), run()

	if got := first.Calls[CallKey{"copy-to-staging", "S3", "CopyObject"}].Calls; got != files {
		t.Errorf("copy-to-staging's CopyObject calls = %d, want %d (one per file)", got, files)
	}
	if first.StateTransitions <= 0 || first.StateTransitions != second.StateTransitions {
		t.Errorf("state transitions %d then %d, want the same positive count", first.StateTransitions, second.StateTransitions)
	}
	// Two decisions and a download, each a read and a mutation as the frontend sends them.
	if first.AppSyncRequests != 6 || second.AppSyncRequests != 6 {
		t.Errorf("GraphQL requests %d then %d, want 6", first.AppSyncRequests, second.AppSyncRequests)
	}
	if api := first.Invocations["egress-api"]; api.Count != first.AppSyncRequests {
		t.Errorf("egress-api invocations %d, want one per GraphQL request (%d)", api.Count, first.AppSyncRequests)
	}
	rel := first.Invocations["copy-to-datalake"]
	if rel.Count < 1 || rel.GBSeconds <= 0 || rel.GBSeconds != rel.Seconds*2 {
		t.Errorf("copy-to-datalake %+v: want an invocation, GB-seconds > 0 at its 2048 MB", rel)
	}
	for _, fn := range []string{"start-workflow", "copy-to-staging", "check-files", "publish-events"} {
		if first.Invocations[fn].Count < 1 {
			t.Errorf("%s: no invocation recorded", fn)
		}
	}
	if mail := first.Operation("SESv2", "SendEmail"); mail.Calls < 1 || mail.Units < float64(mail.Calls) {
		t.Errorf("SES SendEmail %+v: want e-mails, each with at least one recipient", mail)
	}
	if ev := first.Operation("EventBridge", "PutEvents"); ev.Units < 2 {
		t.Errorf("EventBridge PutEvents %+v: want the request's audit events as entries", ev)
	}
	// A transaction bills two write units per item, as the table reports them.
	if tx := first.Operation("DynamoDB", "TransactWriteItems"); tx.Calls < 1 || tx.Units < 2*float64(tx.Calls) {
		t.Errorf("DynamoDB TransactWriteItems %+v: want calls with their consumed write units", tx)
	}
	if got := first.GBSeconds(); got <= rel.GBSeconds {
		t.Errorf("total GB-seconds %g, want more than the release's %g", got, rel.GBSeconds)
	}
}
