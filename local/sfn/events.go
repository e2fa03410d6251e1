package sfn

import (
	"encoding/json"
	"time"
)

// Execution status change events, as Step Functions sends them to the
// default EventBridge bus for Standard workflows.
const (
	StatusChangeSource     = "aws.states"
	StatusChangeDetailType = "Step Functions Execution Status Change"
)

// eventDataLimit is how much escaped input and output an event may carry;
// beyond it AWS leaves them out, because of EventBridge's event size quota.
const eventDataLimit = 248 * 1024

// StatusChangeEvent is an EventBridge event announcing that an execution
// changed status. Its JSON is what an EventBridge rule's target receives
// (it also decodes into aws-lambda-go's events.CloudWatchEvent).
type StatusChangeEvent struct {
	Version    string             `json:"version"`
	ID         string             `json:"id"`
	DetailType string             `json:"detail-type"`
	Source     string             `json:"source"`
	Account    string             `json:"account"`
	Time       time.Time          `json:"time"` // whole seconds, UTC
	Region     string             `json:"region"`
	Resources  []string           `json:"resources"` // the execution ARN
	Detail     StatusChangeDetail `json:"detail"`
}

// StatusChangeDetail is the "detail" of a StatusChangeEvent: the execution
// as DescribeExecution reports it when the event is sent. Absent values are
// JSON nulls, as in AWS's events.
type StatusChangeDetail struct {
	ExecutionArn    string          `json:"executionArn"`
	StateMachineArn string          `json:"stateMachineArn"`
	Name            string          `json:"name"`
	Status          ExecutionStatus `json:"status"`
	StartDate       int64           `json:"startDate"` // epoch milliseconds
	StopDate        *int64          `json:"stopDate"`  // epoch milliseconds; null while RUNNING
	Input           *string         `json:"input"`     // null if left out (see InputDetails)
	InputDetails    *DataDetails    `json:"inputDetails"`
	Output          *string         `json:"output"` // set only when SUCCEEDED and not left out
	OutputDetails   *DataDetails    `json:"outputDetails"`
	Error           *string         `json:"error"`
	Cause           *string         `json:"cause"`
}

// DataDetails tells whether an event carries the input or output.
type DataDetails struct {
	Included bool `json:"included"`
}

// statusChangeEvent builds the event announcing d's current status.
func (e *Engine) statusChangeEvent(d ExecutionDescription) StatusChangeEvent {
	det := StatusChangeDetail{
		ExecutionArn: d.ExecutionArn, StateMachineArn: d.StateMachineArn, Name: d.Name,
		Status: d.Status, StartDate: d.StartDate.UnixMilli(),
		Error: optional(d.Error), Cause: optional(d.Cause),
	}
	at := d.StartDate
	if d.Status != StatusRunning {
		at = d.StopDate
		stop := d.StopDate.UnixMilli()
		det.StopDate = &stop
	}
	// AWS drops the input when input and output together would be too big
	// once escaped, and the output when it alone would be.
	inSize, outSize := escapedSize(d.Input), escapedSize(d.Output)
	det.InputDetails = &DataDetails{Included: inSize+outSize <= eventDataLimit}
	if det.InputDetails.Included {
		det.Input = &d.Input
	}
	if d.Status == StatusSucceeded {
		det.OutputDetails = &DataDetails{Included: outSize <= eventDataLimit}
		if det.OutputDetails.Included {
			det.Output = &d.Output
		}
	}
	return StatusChangeEvent{
		Version: "0", ID: newUUID(), DetailType: StatusChangeDetailType, Source: StatusChangeSource,
		Account: e.account, Time: at.UTC().Truncate(time.Second), Region: e.region,
		Resources: []string{d.ExecutionArn}, Detail: det,
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// escapedSize is the length of s as a JSON string.
func escapedSize(s string) int {
	b, _ := json.Marshal(s) // a string always marshals
	return len(b)
}

// notifyStatusLocked delivers the execution's current status to OnStatusChange on
// a goroutine of its own, after the execution's previous notification has
// been delivered, so a subscriber sees RUNNING before the final status. x.mu
// is held, which fixes the order; the subscriber never runs under it.
func (x *execution) notifyStatusLocked(d ExecutionDescription) {
	e := x.e
	if e.onStatusChange == nil {
		return
	}
	ev := e.statusChangeEvent(d)
	prev := x.notified
	done := make(chan struct{})
	x.notified = done
	e.wg.Add(1) // the execution's goroutine is still counted, so Close is not yet waiting on zero
	go func() {
		defer e.wg.Done()
		defer close(done)
		if prev != nil {
			<-prev
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			e.log.Error("status change event not encoded", "execution", d.ExecutionArn, "error", err)
			return
		}
		e.onStatusChange(e.ctx, raw)
	}()
}
