// Package metrics writes CloudWatch metrics in the embedded metric format
// (EMF): one JSON line per record on the function's standard output, which
// Lambda sends to CloudWatch Logs, where CloudWatch extracts the metrics.
// No PutMetricData call, so no extra permission, latency or failure mode.
//
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every egress metric; the stack's
// dashboard and alarms read it.
const Namespace = "Egress"

// DimensionStack is on every record, so two stacks in one account keep
// their metrics apart.
const DimensionStack = "Stack"

// Unit is a CloudWatch unit.
type Unit string

// The units egress uses.
const (
	Count        Unit = "Count"
	Seconds      Unit = "Seconds"
	Milliseconds Unit = "Milliseconds"
	Bytes        Unit = "Bytes"
)

// Metric is one value of one metric.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Recorder writes EMF records for one stack. The zero value is not usable;
// use New. Safe for concurrent use: each record is one write.
type Recorder struct {
	mu    sync.Mutex
	w     io.Writer
	stack string
	now   func() time.Time
}

// New returns a Recorder writing to w (os.Stdout when nil) with stack as
// the Stack dimension.
func New(w io.Writer, stack string) *Recorder {
	if w == nil {
		w = os.Stdout
	}
	return &Recorder{w: w, stack: stack, now: time.Now}
}

// Record writes ms as one record with dimensions dims (plus Stack). Names
// of dims and ms must not collide; a metric without a unit is a Count.
func (r *Recorder) Record(dims map[string]string, ms ...Metric) error {
	return r.RecordWith(nil, dims, ms...)
}

// RecordWith is Record with props, properties of the record that are
// neither dimensions nor metrics (such as egress_request_id): searchable
// in CloudWatch Logs, at no cost in metrics.
func (r *Recorder) RecordWith(props, dims map[string]string, ms ...Metric) error {
	if r == nil || len(ms) == 0 {
		return nil
	}
	line, err := EncodeWith(r.now(), r.stack, props, dims, ms...)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err = r.w.Write(line)
	return err
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

// Encode returns one EMF record, newline-terminated.
func Encode(at time.Time, stack string, dims map[string]string, ms ...Metric) ([]byte, error) {
	return EncodeWith(at, stack, nil, dims, ms...)
}

// EncodeWith is Encode with props, properties of the record that are
// neither dimensions nor metrics.
func EncodeWith(at time.Time, stack string, props, dims map[string]string, ms ...Metric) ([]byte, error) {
	root := map[string]any{}
	keys := []string{DimensionStack}
	root[DimensionStack] = stack
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		if k == DimensionStack || k == "_aws" {
			return nil, fmt.Errorf("metrics: dimension name %q is reserved", k)
		}
		keys = append(keys, k)
		root[k] = dims[k]
	}
	d := directive{Namespace: Namespace, Dimensions: [][]string{keys}}
	for _, m := range ms {
		if m.Name == "" {
			return nil, fmt.Errorf("metrics: a metric needs a name")
		}
		if _, taken := root[m.Name]; taken {
			return nil, fmt.Errorf("metrics: %q is both a dimension and a metric, or twice a metric", m.Name)
		}
		unit := m.Unit
		if unit == "" {
			unit = Count
		}
		d.Metrics = append(d.Metrics, definition{Name: m.Name, Unit: unit})
		root[m.Name] = m.Value
	}
	for k, v := range props {
		if _, taken := root[k]; taken || k == "_aws" {
			return nil, fmt.Errorf("metrics: property %q is also a dimension or a metric, or reserved", k)
		}
		root[k] = v
	}
	root["_aws"] = map[string]any{
		"Timestamp":         at.UnixMilli(),
		"CloudWatchMetrics": []directive{d},
	}
	b, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return append(b, '\n'), nil
}
