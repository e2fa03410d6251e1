package local

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/metrics"
)

// emitted is one EMF record a function wrote about a request: its metric
// values and dimensions (Stack aside), checked against shared/metrics'
// definitions.
type emitted struct {
	function string
	dims     map[string]string
	values   map[string]float64
}

// String is "function Metric=value ... Dim=value ...", sorted, for
// comparing lists.
func (e emitted) String() string {
	var parts []string
	for k, v := range e.values {
		parts = append(parts, fmt.Sprintf("%s=%g", k, v))
	}
	for k, v := range e.dims {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return e.function + " " + strings.Join(parts, " ")
}

// requestMetrics returns every EMF record the stack's functions wrote about
// request id, checking each is well formed: namespace Egress, the local
// stack's Stack dimension, and the names, units and dimensions shared/metrics
// defines.
func requestMetrics(t *testing.T, s *Stack, id string) []emitted {
	t.Helper()
	var out []emitted
	for _, fn := range functions.Names() {
		recs, err := s.Metrics(fn)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if rec[metrics.PropRequestID] != id {
				continue
			}
			raw, _ := json.Marshal(rec["_aws"])
			var aws struct {
				Timestamp         int64
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name, Unit string }
				}
			}
			if err := json.Unmarshal(raw, &aws); err != nil || aws.Timestamp == 0 || len(aws.CloudWatchMetrics) != 1 {
				t.Fatalf("%s: not an EMF record: %v", fn, rec)
			}
			d := aws.CloudWatchMetrics[0]
			if d.Namespace != metrics.Namespace || len(d.Dimensions) != 1 || rec[metrics.DimensionStack] != StackName {
				t.Errorf("%s: record %v: want namespace %s and Stack %s", fn, rec, metrics.Namespace, StackName)
			}
			e := emitted{function: fn, dims: map[string]string{}, values: map[string]float64{}}
			for _, dim := range d.Dimensions[0][1:] {
				e.dims[dim], _ = rec[dim].(string)
			}
			for _, m := range d.Metrics {
				def, ok := metrics.Lookup(m.Name)
				if !ok || string(def.Unit) != m.Unit || !slices.Equal(slices.Sorted(slices.Values(def.Dimensions)), d.Dimensions[0][1:]) {
					t.Errorf("%s: metric %s in %s with dimensions %v is not as shared/metrics defines it (%+v)", fn, m.Name, m.Unit, d.Dimensions[0], def)
				}
				e.values[m.Name], _ = rec[m.Name].(float64)
			}
			out = append(out, e)
		}
	}
	return out
}

// take removes from recs those of metric name and returns them.
func take(recs *[]emitted, name string) []emitted {
	var got, rest []emitted
	for _, r := range *recs {
		if _, ok := r.values[name]; ok {
			got = append(got, r)
		} else {
			rest = append(rest, r)
		}
	}
	*recs = rest
	return got
}

func strs(es []emitted) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	slices.Sort(out)
	return out
}

// Issue 16, acceptance 5 (metrics): an approved, a rejected and a failed
// request through the whole stack, and the EMF records each function wrote
// about them: one status change per status with the function that made
// it, the time each stage waited, the checks' findings as the request's
// summary counts them, the released zip's size, the download, and a
// failure by its cause category.
func TestFunctionsEmitMetrics(t *testing.T) {
	s := stack(t, false)

	t.Run("approved", func(t *testing.T) {
		rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"approve", "approve"}, s.GraphQLDecider())
		if err != nil || !rep.ExpectedResult {
			t.Fatalf("scenario %+v: %v", rep, err)
		}
		r, err := s.Requests.Get(ctx(t), rep.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		recs := requestMetrics(t, s, r.ID)

		statuses := strs(take(&recs, metrics.Requests))
		if want := []string{
			"egress-api Requests=1 Status=IGAPPROVED",
			"egress-api Requests=1 Status=RITAPPROVED",
			"start-workflow Requests=1 Status=PROCESSING",
		}; !slices.Equal(statuses, want) {
			t.Errorf("status changes\n%q\nwant\n%q", statuses, want)
		}
		waits := take(&recs, metrics.TimeToDecision)
		var stages []string
		for _, w := range waits {
			stages = append(stages, w.function+" "+w.dims[metrics.DimStage])
			if v := w.values[metrics.TimeToDecision]; v < 0 || v > 120 {
				t.Errorf("stage %s waited %g s; the scenario took less than two minutes", w.dims[metrics.DimStage], v)
			}
		}
		if want := []string{"egress-api IG", "egress-api RIT"}; !slices.Equal(stages, want) {
			t.Errorf("time to decision recorded for %q, want %q", stages, want)
		}

		found := map[egress.Severity]float64{}
		for _, f := range take(&recs, metrics.Findings) {
			if f.function != "check-files" || !slices.Contains(egress.CheckNames(), f.dims[metrics.DimCheck]) {
				t.Errorf("finding record %s: want check-files and a known check", f)
			}
			found[egress.Severity(f.dims[metrics.DimSeverity])] += f.values[metrics.Findings]
		}
		if r.Checks == nil || found[egress.SeverityWarning] != float64(r.Checks.Warnings) ||
			found[egress.SeverityInfo] != float64(r.Checks.Info) || found[egress.SeverityBlocking] != float64(r.Checks.Blocking) {
			t.Errorf("findings recorded by severity %v; the request's summary says %+v", found, r.Checks)
		}

		releases := take(&recs, metrics.ReleaseBytes)
		head, err := s.Clients.S3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(DatalakeBucket), Key: aws.String(r.ZipKey)})
		if err != nil {
			t.Fatal(err)
		}
		if len(releases) != 1 || releases[0].function != "copy-to-datalake" ||
			releases[0].values[metrics.ReleaseBytes] != float64(aws.ToInt64(head.ContentLength)) ||
			releases[0].values[metrics.ReleaseSeconds] <= 0 {
			t.Errorf("releases %q; want one from copy-to-datalake of the zip's %d bytes, with its seconds", strs(releases), aws.ToInt64(head.ContentLength))
		}
		if downloads := strs(take(&recs, metrics.Downloads)); !slices.Equal(downloads, []string{"egress-api Downloads=1"}) {
			t.Errorf("downloads %q, want the scenario's one", downloads)
		}
		if len(recs) > 0 {
			t.Errorf("unexpected records %q", strs(recs))
		}
	})

	t.Run("rejected", func(t *testing.T) {
		rep, err := s.Scenario(ctx(t), "testdata/sample-store", []string{"reject"}, s.GraphQLDecider())
		if err != nil || !rep.ExpectedResult {
			t.Fatalf("scenario %+v: %v", rep, err)
		}
		recs := requestMetrics(t, s, rep.RequestID)
		take(&recs, metrics.Findings) // as above
		waits := take(&recs, metrics.TimeToDecision)
		if len(waits) != 1 || waits[0].dims[metrics.DimStage] != "IG" {
			t.Errorf("time to decision %q, want the IG stage's", strs(waits))
		}
		if got, want := strs(recs), []string{
			"egress-api Requests=1 Status=REJECTED",
			"start-workflow Requests=1 Status=PROCESSING",
		}; !slices.Equal(got, want) {
			t.Errorf("records\n%q\nwant\n%q (no release, download or failure)", got, want)
		}
	})

	t.Run("failed", func(t *testing.T) {
		s.SetFail(func(function string, _ json.RawMessage) error {
			if function == "copy-to-staging" {
				return egress.Errorf(egress.ENOTFOUND, "injected: object s3://bucket/secret.csv not found")
			}
			return nil
		})
		defer s.SetFail(nil)
		sub := submit(t, s)
		finished(t, s, sub, egress.StatusFailed)
		recs := requestMetrics(t, s, sub.RequestID)
		if got, want := strs(recs), []string{
			"handle-failure Cause=NotFound Failures=1",
			"handle-failure Requests=1 Status=FAILED",
			"start-workflow Requests=1 Status=PROCESSING",
		}; !slices.Equal(got, want) {
			t.Errorf("records\n%q\nwant\n%q", got, want)
		}
	})
}
