package local

import (
	"context"
	"maps"
	"math"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go/middleware"

	"github.com/tre-egress/egress/functions"
)

// Usage is what the stack's functions have spent, in the units AWS bills:
// every AWS call of every function by operation, Lambda invocations and
// their GB-seconds, the workflow's state transitions and the GraphQL
// requests AppSync would have served. Take one before and one after a
// scenario; Sub gives the scenario's (bench's cost scenario prices it).
//
// What the stack does not see is not here: SWB's uploads, the requester's
// download GET (a presigned URL, no SDK call of ours), Lambda's own reads
// of the events table's stream (free), Cognito sign-ins.
type Usage struct {
	Calls map[CallKey]CallCount
	// Invocations by function name.
	Invocations map[string]Invocations
	// StateTransitions of every execution of the workflow.
	StateTransitions int64
	// AppSyncRequests is how many GraphQL requests the endpoint served
	// (each also an egress-api invocation: its Lambda data source).
	AppSyncRequests int64
}

// CallKey names an operation of a function.
type CallKey struct {
	Function  string // "copy-to-staging"
	Service   string // the SDK's service id: "S3", "DynamoDB", "SESv2", ...
	Operation string // "CopyObject"
}

// CallCount is how often an operation was called, and its billing units.
type CallCount struct {
	Calls int64
	// Units are what the operation is billed by when that is not the call:
	// DynamoDB's consumed capacity units (read or write request units, as
	// the server reports them), EventBridge's entries, SES's recipients.
	// Equal to Calls for everything else.
	Units float64
}

// Invocations are a function's invocations and their duration.
type Invocations struct {
	Count int64
	// Seconds is the billed duration: each invocation's wall time rounded
	// up to the millisecond, as Lambda bills it.
	Seconds float64
	// GBSeconds is Seconds × the function's memory (functions.Function.MemoryMB).
	GBSeconds float64
}

// Sub returns u minus before: what happened between the two snapshots.
func (u Usage) Sub(before Usage) Usage {
	out := Usage{
		Calls:            map[CallKey]CallCount{},
		Invocations:      map[string]Invocations{},
		StateTransitions: u.StateTransitions - before.StateTransitions,
		AppSyncRequests:  u.AppSyncRequests - before.AppSyncRequests,
	}
	for k, c := range u.Calls {
		b := before.Calls[k]
		if d := (CallCount{Calls: c.Calls - b.Calls, Units: c.Units - b.Units}); d.Calls != 0 {
			out.Calls[k] = d
		}
	}
	for k, v := range u.Invocations {
		b := before.Invocations[k]
		if d := (Invocations{Count: v.Count - b.Count, Seconds: v.Seconds - b.Seconds, GBSeconds: v.GBSeconds - b.GBSeconds}); d.Count != 0 {
			out.Invocations[k] = d
		}
	}
	return out
}

// Operation sums an operation's calls over every function (service and
// operation as the SDK names them).
func (u Usage) Operation(service, operation string) CallCount {
	var sum CallCount
	for k, c := range u.Calls {
		if k.Service == service && k.Operation == operation {
			sum.Calls += c.Calls
			sum.Units += c.Units
		}
	}
	return sum
}

// GBSeconds sums the GB-seconds of every function.
func (u Usage) GBSeconds() float64 {
	var sum float64
	for _, v := range u.Invocations {
		sum += v.GBSeconds
	}
	return sum
}

// ledger accumulates a stack's Usage; every method is safe for concurrent use.
type ledger struct {
	mu          sync.Mutex
	calls       map[CallKey]CallCount
	invocations map[string]Invocations
	appsync     int64
}

func (l *ledger) call(k CallKey, units float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[CallKey]CallCount{}
	}
	c := l.calls[k]
	c.Calls++
	c.Units += units
	l.calls[k] = c
}

// invoked records one invocation of function that ran for d.
func (l *ledger) invoked(function string, d time.Duration) {
	fn, _ := functions.Lookup(function)
	secs := math.Ceil(float64(d)/float64(time.Millisecond)) / 1000
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.invocations == nil {
		l.invocations = map[string]Invocations{}
	}
	v := l.invocations[function]
	v.Count++
	v.Seconds += secs
	v.GBSeconds += secs * float64(fn.MemoryMB) / 1024
	l.invocations[function] = v
}

// Usage returns what the stack has spent since it started.
func (s *Stack) Usage() Usage {
	s.usage.mu.Lock()
	u := Usage{Calls: maps.Clone(s.usage.calls), Invocations: maps.Clone(s.usage.invocations), AppSyncRequests: s.usage.appsync}
	s.usage.mu.Unlock()
	if u.Calls == nil {
		u.Calls = map[CallKey]CallCount{}
	}
	if u.Invocations == nil {
		u.Invocations = map[string]Invocations{}
	}
	if execs, err := s.Engine.ListExecutions(s.StateMachineArn, ""); err == nil {
		for _, x := range execs {
			n, _ := s.Engine.StateTransitions(x.ExecutionArn)
			u.StateTransitions += n
		}
	}
	return u
}

// metered runs f as an invocation of function, recording its duration.
func (s *Stack) metered(function string, f func() error) error {
	start := time.Now()
	err := f()
	s.usage.invoked(function, time.Since(start))
	return err
}

// countCallID is the id of countCalls' middleware.
const countCallID = "egress/local.countCalls"

// countCalls records every call of fn that reaches its service (after
// Check and the fault hook), with its billing units. DynamoDB calls are
// sent asking for their consumed capacity (on a copy of the input), so
// the ledger has the request units the table would bill.
func (s *Stack) countCalls(fn functions.Function) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(countCallID, func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			svc, op := middleware.GetServiceID(ctx), middleware.GetOperationName(ctx)
			if svc == "DynamoDB" {
				in.Parameters = withConsumedCapacity(in.Parameters)
			}
			out, md, err := next.HandleInitialize(ctx, in)
			units := 1.0
			switch p := in.Parameters.(type) {
			case *eventbridge.PutEventsInput:
				units = float64(len(p.Entries))
			case *sesv2.SendEmailInput:
				if d := p.Destination; d != nil {
					units = float64(len(d.ToAddresses) + len(d.CcAddresses) + len(d.BccAddresses))
				}
			}
			if svc == "DynamoDB" && err == nil {
				if cu, ok := consumedCapacity(out.Result); ok {
					units = cu
				}
			}
			s.usage.call(CallKey{Function: fn.Name, Service: svc, Operation: op}, units)
			return out, md, err
		}), middleware.After)
	}
}

// withConsumedCapacity returns a copy of a DynamoDB input asking for the
// total consumed capacity, or the input itself if it has no such field.
func withConsumedCapacity(params any) any {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return params
	}
	f := v.Elem().FieldByName("ReturnConsumedCapacity")
	if !f.IsValid() || f.Type() != reflect.TypeFor[dbtypes.ReturnConsumedCapacity]() || f.String() != "" {
		return params
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	cp.Elem().FieldByName("ReturnConsumedCapacity").SetString(string(dbtypes.ReturnConsumedCapacityTotal))
	return cp.Interface()
}

// consumedCapacity sums the capacity units a DynamoDB output reports.
func consumedCapacity(result any) (float64, bool) {
	v := reflect.ValueOf(result)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, false
	}
	f := v.Elem().FieldByName("ConsumedCapacity")
	if !f.IsValid() {
		return 0, false
	}
	var sum float64
	switch c := f.Interface().(type) {
	case *dbtypes.ConsumedCapacity:
		if c == nil {
			return 0, false
		}
		sum = aws.ToFloat64(c.CapacityUnits)
	case []dbtypes.ConsumedCapacity:
		if len(c) == 0 {
			return 0, false
		}
		for _, x := range c {
			sum += aws.ToFloat64(x.CapacityUnits)
		}
	default:
		return 0, false
	}
	return sum, sum > 0
}

// meterGraphQL counts every GraphQL request as one AppSync request and one
// invocation of egress-api, its Lambda data source.
func (s *Stack) meterGraphQL(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.usage.mu.Lock()
		s.usage.appsync++
		s.usage.mu.Unlock()
		s.metered("egress-api", func() error { h.ServeHTTP(w, r); return nil })
	})
}
