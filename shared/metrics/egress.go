package metrics

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/logctx"
)

// PropRequestID is the property naming the request a record is about.
const PropRequestID = "egress_request_id"

// Emitter records egress's metrics (Definitions) from the domain's
// values: the adapter of the workflow's and the API's Metrics ports, and
// the requests table's status observer. A nil *Emitter records nothing.
// A metric that cannot be written is logged, never returned: the work it
// measures has happened.
type Emitter struct {
	rec *Recorder
	log *slog.Logger
}

// NewEmitter returns an Emitter over rec, logging write errors on log
// (slog.Default() when nil). A nil rec gives a nil Emitter.
func NewEmitter(rec *Recorder, log *slog.Logger) *Emitter {
	if rec == nil {
		return nil
	}
	if log == nil {
		log = slog.Default()
	}
	return &Emitter{rec: rec, log: log}
}

func (e *Emitter) record(ctx context.Context, id string, dims map[string]string, ms ...Metric) {
	if e == nil {
		return
	}
	// The request id rides along as a property, not a dimension: the
	// record can be found from the request, and the metric's cardinality
	// stays bounded.
	var props map[string]string
	if id != "" {
		props = map[string]string{PropRequestID: id}
	}
	if err := e.rec.RecordWith(props, dims, ms...); err != nil {
		logctx.With(ctx, e.log).Warn("metric not recorded", "egress_request_id", id, "metric", ms[0].Name, "error", err)
	}
}

// StatusChanged counts r's change of status, ev the change's audit event
// (ev.From the old status; "" at creation). Events that leave the status
// as it is are not counted.
func (e *Emitter) StatusChanged(ctx context.Context, r egress.Request, ev egress.Event) {
	if ev.From == r.Status {
		return
	}
	e.record(ctx, r.ID, map[string]string{DimStatus: string(r.Status)}, Metric{Name: Requests, Unit: Count, Value: 1})
}

// Decided records how long stage awaited the decision that came after
// waited.
func (e *Emitter) Decided(ctx context.Context, id, stage string, waited time.Duration) {
	if waited < 0 {
		waited = 0
	}
	e.record(ctx, id, map[string]string{DimStage: stage}, Metric{Name: TimeToDecision, Unit: Seconds, Value: waited.Seconds()})
}

// Checked counts the findings of a request's checks: one record per check
// and severity found. A check or severity outside the domain's lists is
// counted as "other", so no value can add dimensions without bound.
func (e *Emitter) Checked(ctx context.Context, id string, findings []egress.Finding) {
	type key struct{ check, severity string }
	counts := map[key]int{}
	var order []key
	for _, f := range findings {
		k := key{"other", "other"}
		if slices.Contains(egress.CheckNames(), f.Check) {
			k.check = f.Check
		}
		if slices.Contains(egress.Severities(), f.Severity) {
			k.severity = string(f.Severity)
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	for _, k := range order {
		e.record(ctx, id, map[string]string{DimCheck: k.check, DimSeverity: k.severity},
			Metric{Name: Findings, Unit: Count, Value: float64(counts[k])})
	}
}

// Released records a release zip of size bytes written in took.
func (e *Emitter) Released(ctx context.Context, id string, size int64, took time.Duration) {
	e.record(ctx, id, nil, Metric{Name: ReleaseBytes, Unit: Bytes, Value: float64(size)},
		Metric{Name: ReleaseSeconds, Unit: Seconds, Value: took.Seconds()})
}

// Downloaded counts one granted download.
func (e *Emitter) Downloaded(ctx context.Context, id string) {
	e.record(ctx, id, nil, Metric{Name: Downloads, Unit: Count, Value: 1})
}

// Failed counts a request ended by a failure of category cause.
func (e *Emitter) Failed(ctx context.Context, id string, cause egress.FailureCause) {
	if !slices.Contains(egress.FailureCauses(), cause) {
		cause = egress.CauseInternal
	}
	e.record(ctx, id, map[string]string{DimCause: string(cause)}, Metric{Name: Failures, Unit: Count, Value: 1})
}

// ForStack returns an Emitter writing to w (standard output when nil,
// which Lambda sends to CloudWatch Logs) for stack, or nil, recording
// nothing, when stack is "": a function run without STACK_NAME.
func ForStack(w io.Writer, stack string, log *slog.Logger) *Emitter {
	if stack == "" {
		return nil
	}
	return NewEmitter(New(w, stack), log)
}

// StuckChecked records one run of check-stuck: how many requests of each
// kind it found (0 included, so the alarms see data every period).
func (e *Emitter) StuckChecked(ctx context.Context, unreminded, noExecution, undelivered int) {
	e.record(ctx, "", nil,
		Metric{Name: StuckUnreminded, Unit: Count, Value: float64(unreminded)},
		Metric{Name: StuckNoExecution, Unit: Count, Value: float64(noExecution)},
		Metric{Name: StuckUndelivered, Unit: Count, Value: float64(undelivered)})
}

// ReleasesChecked records one run of verify-releases.
func (e *Emitter) ReleasesChecked(ctx context.Context, checked, drift int) {
	e.record(ctx, "", nil,
		Metric{Name: ReleasesVerified, Unit: Count, Value: float64(checked)},
		Metric{Name: ReleaseDrift, Unit: Count, Value: float64(drift)})
}
