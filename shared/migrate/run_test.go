package migrate

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tre-egress/egress/shared/egress"
)

// pagedScanner serves items two a page, as a Scan with a small page would.
type pagedScanner struct {
	items []map[string]types.AttributeValue
	calls int
}

func (s *pagedScanner) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	s.calls++
	if !aws.ToBool(in.ConsistentRead) {
		return nil, errors.New("scan without ConsistentRead")
	}
	start := 0
	if in.ExclusiveStartKey != nil {
		last, err := strconv.Atoi(in.ExclusiveStartKey["k"].(*types.AttributeValueMemberN).Value)
		if err != nil {
			return nil, err
		}
		start = last + 1
	}
	end := min(start+2, len(s.items))
	out := &dynamodb.ScanOutput{Items: s.items[start:end]}
	if end < len(s.items) {
		out.LastEvaluatedKey = map[string]types.AttributeValue{"k": &types.AttributeValueMemberN{Value: strconv.Itoa(end - 1)}}
	}
	return out, nil
}

// memStore is an in-memory Store.
type memStore struct {
	requests map[string]egress.Request
	events   map[string][]egress.Event
	imports  int
	fail     error
}

func newMemStore() *memStore {
	return &memStore{requests: map[string]egress.Request{}, events: map[string][]egress.Event{}}
}

func (s *memStore) Import(_ context.Context, r egress.Request, evs []egress.Event) (bool, error) {
	if s.fail != nil {
		return false, s.fail
	}
	s.imports++
	if _, ok := s.requests[r.ID]; ok {
		return false, nil
	}
	s.requests[r.ID], s.events[r.ID] = r, evs
	return true, nil
}

func (s *memStore) Get(_ context.Context, id string) (egress.Request, error) {
	if r, ok := s.requests[id]; ok {
		return r, nil
	}
	return egress.Request{}, egress.Errorf(egress.ENOTFOUND, "request %s not found", id)
}

func outcomes(rep Report) map[string]string {
	out := map[string]string{}
	for _, it := range rep.Items {
		out[it.RequestID[:8]] = it.Outcome
	}
	return out
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	items := loadScan(t, fixturePath)
	clock := func() time.Time { return migratedAt }
	store := newMemStore()
	want := func(finished string) map[string]string {
		return map[string]string{
			"0b6a1c52": finished, "1d2e3f40": finished, "2e3f4a51": finished, "3f4a5b62": finished,
			"4a5b6c73": ReportInFlight, "5b6c7d84": ReportInFlight,
			"6c7d8e95": finished, "7d8e9fa6": finished, "8e9fa0b7": ReportMalformed,
		}
	}
	check := func(t *testing.T, rep Report, wantOutcomes map[string]string) {
		t.Helper()
		if rep.Scanned != len(items) || rep.SourceTable != "old" {
			t.Fatalf("scanned %d of %s, want %d of old", rep.Scanned, rep.SourceTable, len(items))
		}
		got := outcomes(rep)
		for id, o := range wantOutcomes {
			if got[id] != o {
				t.Errorf("%s: %s, want %s", id, got[id], o)
			}
		}
		for i := 1; i < len(rep.Items); i++ {
			if rep.Items[i-1].RequestID > rep.Items[i].RequestID {
				t.Fatalf("report not sorted by id: %s before %s", rep.Items[i-1].RequestID, rep.Items[i].RequestID)
			}
		}
	}

	t.Run("dry run writes nothing", func(t *testing.T) {
		sc := &pagedScanner{items: items}
		rep, err := Run(ctx, sc, store, Options{SourceTable: "old", DryRun: true, Now: clock})
		var inc *Incomplete
		if !errors.As(err, &inc) || inc.InFlight != 2 || inc.Malformed != 1 {
			t.Fatalf("err %v, want 2 in flight and 1 malformed", err)
		}
		check(t, rep, want(ReportWouldImport))
		if store.imports != 0 || len(store.requests) != 0 {
			t.Fatalf("a dry run imported %d", store.imports)
		}
		if sc.calls != 5 {
			t.Fatalf("%d Scan calls for %d items two a page, want 5 (every page read)", sc.calls, len(items))
		}
		if !rep.DryRun || rep.Counts != (Counts{WouldImport: 6, InFlight: 2, Malformed: 1}) {
			t.Fatalf("counts %+v", rep.Counts)
		}
	})
	t.Run("run imports the finished ones", func(t *testing.T) {
		rep, err := Run(ctx, &pagedScanner{items: items}, store, Options{SourceTable: "old", Now: clock})
		if !IsIncomplete(err) || !strings.Contains(err.Error(), "drain them on the old stack first") {
			t.Fatalf("err %v, want the in-flight ones named", err)
		}
		check(t, rep, want(ReportImported))
		if len(store.requests) != 6 || rep.Counts != (Counts{Imported: 6, InFlight: 2, Malformed: 1}) {
			t.Fatalf("%d imported, counts %+v", len(store.requests), rep.Counts)
		}
		for _, it := range rep.Items {
			if it.Outcome == ReportInFlight && it.Action != DrainAdvice {
				t.Errorf("%s in flight with action %q", it.RequestID, it.Action)
			}
			if it.Outcome == ReportImported && it.Events != len(store.events[it.RequestID]) {
				t.Errorf("%s: report says %d events, %d imported", it.RequestID, it.Events, len(store.events[it.RequestID]))
			}
		}
	})
	t.Run("second run, skipping in-flight", func(t *testing.T) {
		rep, err := Run(ctx, &pagedScanner{items: items}, store, Options{SourceTable: "old", SkipInFlight: true, Now: clock})
		var inc *Incomplete
		if !errors.As(err, &inc) || inc.InFlight != 0 || inc.Malformed != 1 || strings.Contains(err.Error(), "in flight") {
			t.Fatalf("err %v, want only the malformed item to fail the run", err)
		}
		check(t, rep, want(ReportAlreadyPresent))
	})
	t.Run("dry run after the import", func(t *testing.T) {
		rep, _ := Run(ctx, &pagedScanner{items: items}, store, Options{SourceTable: "old", DryRun: true, Now: clock})
		check(t, rep, want(ReportAlreadyPresent))
	})
	t.Run("nothing left", func(t *testing.T) {
		var finished []map[string]types.AttributeValue
		for _, it := range items {
			if Map(it, 0, "old", migratedAt).Outcome == Import {
				finished = append(finished, it)
			}
		}
		if _, err := Run(ctx, &pagedScanner{items: finished}, store, Options{SourceTable: "old", Now: clock}); err != nil {
			t.Fatalf("a run with only finished requests: %v", err)
		}
	})
	t.Run("a store failure stops the run", func(t *testing.T) {
		broken := newMemStore()
		broken.fail = errors.New("throttled")
		_, err := Run(ctx, &pagedScanner{items: items}, broken, Options{SourceTable: "old", Now: clock})
		if err == nil || IsIncomplete(err) || !strings.Contains(err.Error(), "import request 0b6a1c52") {
			t.Fatalf("err %v, want the import failure naming the request", err)
		}
	})
}
