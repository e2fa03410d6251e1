package workflow_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tre-egress/egress/shared/checks"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/workflow"
)

// fakeMetrics records the workflow's metrics as calls.
type fakeMetrics struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeMetrics) add(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeMetrics) Checked(_ context.Context, id string, fs []egress.Finding) {
	counts := map[string]int{}
	for _, x := range fs {
		counts[x.Check+"/"+string(x.Severity)]++
	}
	f.add(fmt.Sprintf("checked %s %v", id, counts))
}

func (f *fakeMetrics) Released(_ context.Context, id string, size int64, took time.Duration) {
	if took < 0 {
		f.add("negative release time")
	}
	f.add(fmt.Sprintf("released %s %d", id, size))
}

func (f *fakeMetrics) Failed(_ context.Context, id string, cause egress.FailureCause) {
	f.add(fmt.Sprintf("failed %s %s", id, cause))
}

func withMetrics(e *env) *fakeMetrics {
	m := &fakeMetrics{}
	e.h.Metrics = m
	return m
}

func TestWorkflowMetrics(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T) *fakeMetrics
		want []string
	}{
		{
			name: "check-files counts the listing's and every file's findings once, when done",
			run: func(t *testing.T) *fakeMetrics {
				e, fc, _ := checkEnv(t, 3)
				m := withMetrics(e)
				fc.listing = []egress.Finding{{Check: egress.CheckCount, Severity: egress.SeverityInfo, Message: "3 files"}}
				fc.results["out/f001.csv"] = checks.FileResult{Findings: []egress.Finding{warning(egress.CheckSDC, "small count"), warning(egress.CheckSDC, "another")}}
				for range 2 { // the second call finds the outcome stored
					if _, err := e.h.CheckFiles(ctx, workflow.RequestInput{RequestID: reqID}); err != nil {
						t.Fatal(err)
					}
				}
				return m
			},
			want: []string{"checked " + reqID + " map[count/INFO:1 sdc/WARNING:2]"},
		},
		{
			name: "copy-to-datalake records the zip's size, once",
			run: func(t *testing.T) *fakeMetrics {
				e := newEnv(t)
				m := withMetrics(e)
				r := request()
				r.Status = egress.StatusRITApproved
				r.StagingObjectMetadataVersion = "manifests/" + wsID + "/" + reqID + ".json"
				e.put(t, r)
				e.objs.manifests[staging+"/"+r.StagingObjectMetadataVersion] = egress.Manifest{RequestID: reqID, Files: []egress.File{{Path: "a.csv", StagedVersionID: "v1"}}}
				for range 2 { // a retry finds the release recorded
					if _, err := e.h.Release(ctx, workflow.RequestInput{RequestID: reqID}); err != nil {
						t.Fatal(err)
					}
				}
				return m
			},
			want: []string{"released " + reqID + " 100"},
		},
		{
			name: "handle-failure counts the failure by its category, once",
			run: func(t *testing.T) *fakeMetrics {
				e := newEnv(t)
				m := withMetrics(e)
				e.put(t, request())
				for range 2 { // a retry finds it failed
					if _, err := e.h.HandleFailure(ctx, failure("States.Timeout", "the task timed out after s3://bucket/key")); err != nil {
						t.Fatal(err)
					}
				}
				return m
			},
			want: []string{"failed " + reqID + " Timeout"},
		},
		{
			name: "execution-ended counts a stopped execution as Aborted",
			run: func(t *testing.T) *fakeMetrics {
				e := newEnv(t)
				m := withMetrics(e)
				e.put(t, request())
				if err := e.h.ExecutionEnded(ctx, statusChange(t, "ABORTED", "", "")); err != nil {
					t.Fatal(err)
				}
				return m
			},
			want: []string{"failed " + reqID + " Aborted"},
		},
		{
			name: "a request already FAILED is not counted again",
			run: func(t *testing.T) *fakeMetrics {
				e := newEnv(t)
				m := withMetrics(e)
				r := request()
				r.Status = egress.StatusFailed
				e.put(t, r)
				if _, err := e.h.HandleFailure(ctx, failure(egress.EINTERNAL, "boom")); err != nil {
					t.Fatal(err)
				}
				return m
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.run(t)
			if !reflect.DeepEqual(m.calls, tt.want) {
				t.Errorf("metrics %q, want %q", m.calls, tt.want)
			}
		})
	}
}

func (f *fakeMetrics) StuckChecked(_ context.Context, unreminded, noExecution, undelivered int) {
	f.add(fmt.Sprintf("stuck %d %d %d", unreminded, noExecution, undelivered))
}

func (f *fakeMetrics) ReleasesChecked(_ context.Context, checked, drift int) {
	f.add(fmt.Sprintf("releases %d %d", checked, drift))
}
