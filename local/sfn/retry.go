package sfn

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// retrier is one element of a state's Retry field.
type retrier struct {
	errorEquals []string
	interval    float64 // seconds before the first retry
	maxAttempts int64
	backoffRate float64
	maxDelay    float64 // seconds; 0 means uncapped
	fullJitter  bool
}

// catcher is one element of a state's Catch field.
type catcher struct {
	errorEquals []string
	next        string
	resultPath  *dataPath
}

// Error names the States Language defines; an ErrorEquals entry starting with
// "States." must be one of them, which catches typos that would otherwise
// silently never match.
var knownStatesErrors = []string{
	StatesALL, StatesDataLimitExceeded, "States.ExceedToleratedFailureThreshold",
	StatesHeartbeatTimeout, "States.Http.Socket", "States.IntrinsicFailure",
	"States.ItemReaderFailed", StatesNoChoiceMatched, "States.ParameterPathFailure",
	"States.Permissions", StatesResultPathMatchFailure, "States.ResultWriterFailed",
	StatesRuntime, StatesTaskFailed, StatesTimeout, "States.QueryEvaluationError",
	"States.BranchFailed",
}

func (v *validator) errorEquals(r fieldReader, field string, i, count int) []string {
	raw, ok := r.array("ErrorEquals")
	if !r.has("ErrorEquals") || (ok && len(raw) == 0) {
		r.v.addf(r.where, `"ErrorEquals" must be a non-empty array of error names`)
		return nil
	}
	var names []string
	for _, e := range raw {
		s, ok := e.(string)
		if !ok || s == "" {
			r.problem("ErrorEquals", "must contain only non-empty strings, got %s", encodeJSON(e))
			continue
		}
		if len(s) > 7 && s[:7] == "States." && !slices.Contains(knownStatesErrors, s) {
			r.problem("ErrorEquals", "unknown error name %q", s)
		}
		names = append(names, s)
	}
	if slices.Contains(names, StatesALL) {
		if len(names) > 1 {
			r.problem("ErrorEquals", "States.ALL must appear alone")
		}
		if i != count-1 {
			r.v.addf(r.where, "a %s matching States.ALL must be the last one", field)
		}
	}
	return names
}

func (v *validator) retriers(parent fieldReader) []*retrier {
	list, ok := parent.array("Retry")
	if !ok {
		return nil
	}
	var out []*retrier
	for i, raw := range list {
		where := fmt.Sprintf("%s Retry[%d]", parent.where, i)
		obj, ok := raw.(map[string]any)
		if !ok {
			v.addf(where, "must be an object")
			continue
		}
		r := fieldReader{v: v, where: where, obj: obj}
		r.onlyFields([]string{"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"})
		rt := &retrier{errorEquals: v.errorEquals(r, "retrier", i, len(list)), interval: 1, maxAttempts: 3, backoffRate: 2}
		if n, ok := r.integer("IntervalSeconds", 1, maxSeconds); ok {
			rt.interval = float64(n)
		}
		if n, ok := r.integer("MaxAttempts", 0, maxSeconds); ok {
			rt.maxAttempts = n
		}
		if f, ok := r.float("BackoffRate"); ok {
			if f < 1 {
				r.problem("BackoffRate", "must be at least 1.0, got %v", f)
			}
			rt.backoffRate = f
		}
		if n, ok := r.integer("MaxDelaySeconds", 1, maxDelaySeconds); ok {
			rt.maxDelay = float64(n)
		}
		switch j := r.str("JitterStrategy"); j {
		case "", "NONE":
		case "FULL":
			rt.fullJitter = true
		default:
			r.problem("JitterStrategy", `must be "FULL" or "NONE", got %q`, j)
		}
		out = append(out, rt)
	}
	return out
}

func (v *validator) catchers(parent fieldReader) []*catcher {
	list, ok := parent.array("Catch")
	if !ok {
		return nil
	}
	var out []*catcher
	for i, raw := range list {
		where := fmt.Sprintf("%s Catch[%d]", parent.where, i)
		obj, ok := raw.(map[string]any)
		if !ok {
			v.addf(where, "must be an object")
			continue
		}
		r := fieldReader{v: v, where: where, obj: obj}
		r.onlyFields([]string{"ErrorEquals", "Next", "ResultPath", "Comment"})
		out = append(out, &catcher{
			errorEquals: v.errorEquals(r, "catcher", i, len(list)),
			next:        r.requiredString("Next"),
			resultPath:  r.dataPath("ResultPath", true),
		})
	}
	return out
}

// matches reports whether an ErrorEquals list matches the error name.
//
// States.ALL matches everything and States.TaskFailed everything except
// timeouts; States.Timeout also matches States.HeartbeatTimeout, since a
// missed heartbeat is a kind of timeout. Nothing matches States.Runtime:
// AWS treats such failures as unrecoverable.
func matches(errorEquals []string, name string) bool {
	if name == StatesRuntime {
		return false
	}
	timeout := name == StatesTimeout || name == StatesHeartbeatTimeout
	for _, e := range errorEquals {
		switch {
		case e == name, e == StatesALL:
			return true
		case e == StatesTaskFailed && !timeout:
			return true
		case e == StatesTimeout && timeout:
			return true
		}
	}
	return false
}

// delay returns how long to wait before retry number attempt (0-based):
// IntervalSeconds × BackoffRate^attempt, capped at MaxDelaySeconds, and with
// FULL jitter scaled by a random factor in [0, 1).
func (r *retrier) delay(attempt int64, random func() float64) time.Duration {
	d := r.interval * math.Pow(r.backoffRate, float64(attempt))
	if r.maxDelay > 0 && d > r.maxDelay {
		d = r.maxDelay
	}
	if r.fullJitter {
		d *= random()
	}
	return time.Duration(d * float64(time.Second))
}
