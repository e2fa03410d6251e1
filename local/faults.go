package local

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tre-egress/egress/functions"
)

// Fault is a kind of failure FaultPlan injects into the functions' AWS
// calls. Each is injected at the transport's edge of the SDK's stack
// (inside its retry loop), shaped as the service sends it, so the SDK's
// retryer and the handlers see what they would see in AWS.
type Fault string

const (
	// FaultThrottle is the service's own throttling error and status:
	// S3's 503 SlowDown, DynamoDB's 400 ThrottlingException, Step
	// Functions' 400 ThrottlingException, SES's 429
	// TooManyRequestsException, SNS's 400 Throttling.
	FaultThrottle Fault = "throttle"
	// Fault5xx is a 500 InternalError (S3) / InternalServerError.
	Fault5xx Fault = "5xx"
	// FaultReset is a connection reset before the request reached the
	// service.
	FaultReset Fault = "reset"
	// FaultTimeout is a response lost after the service acted on the
	// request: the call took effect, the caller sees a timeout (the case
	// that tests idempotency).
	FaultTimeout Fault = "timeout"
	// FaultLatency delays the call by FaultPlan.Latency, then makes it.
	FaultLatency Fault = "latency"
)

// Faults are every kind, in a fixed order.
var Faults = []Fault{FaultThrottle, Fault5xx, FaultReset, FaultTimeout, FaultLatency}

// faultServices are the services faults are injected into.
var faultServices = []string{"S3", "DynamoDB", "SFN", "SESv2", "SNS"}

// FaultPlan says which of the functions' AWS call attempts fail, and how.
type FaultPlan struct {
	// Seed makes the choices reproducible: an attempt's fault is drawn
	// from the seed, its function, operation and its number among that
	// function's attempts of that operation (so concurrent calls of
	// other operations do not shift it).
	Seed uint64
	// Rates are each kind's probability per attempt; their sum at most 1.
	Rates map[Fault]float64
	// At injects a fault at chosen attempt numbers (1-based, counted over
	// every attempt the plan sees), before Rates are consulted.
	At map[int]Fault
	// Latency is FaultLatency's delay; default 20ms.
	Latency time.Duration
	// Functions limits the plan to these functions; nil means all.
	Functions []string
}

// FaultStats counts what a plan did.
type FaultStats struct {
	Attempts int           // attempts the plan saw
	Injected map[Fault]int // faults injected, by kind
}

// Total is the number of faults injected.
func (st FaultStats) Total() int {
	n := 0
	for _, v := range st.Injected {
		n += v
	}
	return n
}

func (st FaultStats) String() string {
	var parts []string
	for _, f := range Faults {
		parts = append(parts, fmt.Sprintf("%s %d", f, st.Injected[f]))
	}
	return fmt.Sprintf("%d faults in %d attempts (%s)", st.Total(), st.Attempts, strings.Join(parts, ", "))
}

// faultInjector runs a FaultPlan.
type faultInjector struct {
	plan FaultPlan
	mu   sync.Mutex
	seq  map[string]uint64
	st   FaultStats
}

// SetFaults starts injecting faults by p into every function's S3,
// DynamoDB, Step Functions, SES and SNS calls (nil stops), and returns
// the counts of the plan it replaces.
func (s *Stack) SetFaults(p *FaultPlan) FaultStats {
	var fi *faultInjector
	if p != nil {
		fi = &faultInjector{plan: *p, seq: map[string]uint64{}, st: FaultStats{Injected: map[Fault]int{}}}
		if fi.plan.Latency == 0 {
			fi.plan.Latency = 20 * time.Millisecond
		}
	}
	s.mu.Lock()
	old := s.faults
	s.faults = fi
	s.mu.Unlock()
	return old.stats()
}

// FaultStats returns the counts of the running plan.
func (s *Stack) FaultStats() FaultStats {
	s.mu.Lock()
	fi := s.faults
	s.mu.Unlock()
	return fi.stats()
}

func (fi *faultInjector) stats() FaultStats {
	if fi == nil {
		return FaultStats{Injected: map[Fault]int{}}
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return FaultStats{Attempts: fi.st.Attempts, Injected: maps.Clone(fi.st.Injected)}
}

// choose draws the fault of one attempt ("" for none).
func (fi *faultInjector) choose(function, service, op string) Fault {
	if len(fi.plan.Functions) > 0 && !slices.Contains(fi.plan.Functions, function) {
		return ""
	}
	if !slices.Contains(faultServices, service) {
		return ""
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.st.Attempts++
	f, ok := fi.plan.At[fi.st.Attempts]
	if !ok {
		key := function + "/" + service + "/" + op
		fi.seq[key]++
		h := fnv.New64a()
		io.WriteString(h, key)
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], fi.seq[key])
		h.Write(n[:])
		x := rand.New(rand.NewPCG(fi.plan.Seed, h.Sum64())).Float64()
		for _, k := range Faults {
			if x < fi.plan.Rates[k] {
				f = k
				break
			}
			x -= fi.plan.Rates[k]
		}
	}
	if f != "" {
		fi.st.Injected[f]++
	}
	return f
}

// faultID is the id of injectFaults' middleware.
const faultID = "egress/local.injectFaults"

// injectFaults is the last Deserialize middleware, next to the transport:
// inside the SDK's retry loop, after signing, where a response or a
// connection error from the network would appear.
func (s *Stack) injectFaults(fn functions.Function) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc(faultID, func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			s.mu.Lock()
			fi := s.faults
			s.mu.Unlock()
			if fi == nil {
				return next.HandleDeserialize(ctx, in)
			}
			service := middleware.GetServiceID(ctx)
			switch f := fi.choose(fn.Name, service, middleware.GetOperationName(ctx)); f {
			case FaultThrottle, Fault5xx:
				return middleware.DeserializeOutput{RawResponse: faultResponse(service, f)}, middleware.Metadata{}, nil
			case FaultReset:
				return middleware.DeserializeOutput{}, middleware.Metadata{}, &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}
			case FaultTimeout:
				out, md, err := next.HandleDeserialize(ctx, in)
				if err != nil {
					return out, md, err
				}
				if r, ok := out.RawResponse.(*smithyhttp.Response); ok && r.Body != nil {
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
				return middleware.DeserializeOutput{}, md, &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}}
			case FaultLatency:
				t := time.NewTimer(fi.plan.Latency)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return middleware.DeserializeOutput{}, middleware.Metadata{}, ctx.Err()
				}
			}
			return next.HandleDeserialize(ctx, in)
		}), middleware.After)
	}
}

// faultResponse is the service's response of a throttling or 5xx fault,
// in its protocol: S3's REST-XML, DynamoDB's and Step Functions' JSON 1.0,
// SES v2's REST-JSON, SNS's Query XML.
func faultResponse(service string, f Fault) *smithyhttp.Response {
	status, code, msg := http.StatusInternalServerError, "InternalServerError", "We encountered an internal error. Please try again."
	h := http.Header{"X-Amzn-Requestid": {"local-fault"}}
	var body string
	switch service {
	case "S3":
		if f == FaultThrottle {
			status, code, msg = http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."
		} else {
			code = "InternalError"
		}
		h.Set("Content-Type", "application/xml")
		body = fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>local-fault</RequestId></Error>`, code, msg)
	case "SNS":
		if f == FaultThrottle {
			status, code, msg = http.StatusBadRequest, "Throttling", "Rate exceeded"
		} else {
			code = "InternalError"
		}
		h.Set("Content-Type", "text/xml")
		body = fmt.Sprintf(`<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>local-fault</RequestId></ErrorResponse>`, code, msg)
	default: // DynamoDB, SFN (JSON 1.0), SESv2 (REST-JSON)
		if f == FaultThrottle {
			status, code, msg = http.StatusBadRequest, "ThrottlingException", "Rate exceeded"
			if service == "SESv2" {
				status, code = http.StatusTooManyRequests, "TooManyRequestsException"
			}
		}
		h.Set("Content-Type", "application/x-amz-json-1.0")
		h.Set("X-Amzn-Errortype", code)
		body = fmt.Sprintf(`{"__type":"%s","message":"%s"}`, code, msg)
	}
	return &smithyhttp.Response{Response: &http.Response{
		StatusCode: status, Status: http.StatusText(status), Header: h,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
	}}
}

// Invocation is one Lambda invocation of a workflow function, as
// Options.FailCall sees it (Call.Invocation): a hook may crash it there.
type Invocation struct {
	Function  string
	RequestID string // the payload's egress_request_id, if any
	Payload   json.RawMessage
	cancel    context.CancelFunc

	mu      sync.Mutex
	calls   int    // AWS calls the function has made in it so far
	crashed string // how it was crashed, if it was
}

// Calls is the number of AWS calls made in the invocation so far,
// counting the one being asked about.
func (inv *Invocation) Calls() int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.calls
}

// Kill stops the invocation as a crashed or killed process would: its
// context ends, every later AWS call of it fails without reaching the
// service, and the engine gets a Lambda service failure instead of its
// result, which the state machine retries.
func (inv *Invocation) Kill() { inv.crash("killed") }

// Cancel ends the invocation's context (Lambda's deadline passing): the
// handler sees its calls cancelled, and the engine gets a Lambda service
// failure instead of its result.
func (inv *Invocation) Cancel() { inv.crash("cancelled") }

func (inv *Invocation) crash(how string) {
	inv.mu.Lock()
	if inv.crashed == "" {
		inv.crashed = fmt.Sprintf("%s at AWS call %d", how, inv.calls)
	}
	inv.mu.Unlock()
	inv.cancel()
}

func (inv *Invocation) state() (killed bool, crashed string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return strings.HasPrefix(inv.crashed, "killed"), inv.crashed
}

type invocationKey struct{}

// withInvocation starts an invocation of function on payload.
func withInvocation(ctx context.Context, function string, payload json.RawMessage) (context.Context, *Invocation) {
	ctx, cancel := context.WithCancel(ctx)
	inv := &Invocation{Function: function, Payload: payload, cancel: cancel}
	var in struct {
		RequestID string `json:"egress_request_id"`
	}
	if json.Unmarshal(payload, &in) == nil {
		inv.RequestID = in.RequestID
	}
	return context.WithValue(ctx, invocationKey{}, inv), inv
}

// invocationOf returns the invocation ctx belongs to, if any.
func invocationOf(ctx context.Context) *Invocation {
	inv, _ := ctx.Value(invocationKey{}).(*Invocation)
	return inv
}

// errKilled is what every call of a killed invocation gets.
var errKilled = errors.New("local: the invocation was killed")

// SetReleaseBudget replaces Options.ReleaseBudget while the stack runs;
// call it while no release is being written.
func (s *Stack) SetReleaseBudget(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tasks {
		t.handlers.Settings.ReleaseBudget = d
	}
}
