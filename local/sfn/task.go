package sfn

import (
	"context"
	"encoding/json"
	"time"
)

// taskAttempt performs one attempt of a Task state: input processing,
// the invocation with its timeouts, and ResultSelector.
func (s *stateRun) taskAttempt(ctx context.Context, retryCount int64) (any, map[string]any, error) {
	res := s.st.resource
	var token string
	if res.kind == resLambdaCallback {
		token = newTaskToken()
	}
	ctxObj := s.contextObject(retryCount, token)
	in, err := s.effectiveInput(ctxObj)
	if err != nil {
		return nil, ctxObj, err
	}
	timeout, heartbeat, err := s.taskTimeouts(ctxObj)
	if err != nil {
		return nil, ctxObj, err
	}

	var result any
	switch res.kind {
	case resLambdaFunction:
		result, err = s.invokeFunction(ctx, res.function, in, timeout)
	case resLambdaInvoke, resLambdaCallback:
		var function string
		var payload json.RawMessage
		function, payload, err = invokeParameters(in)
		if err != nil {
			break
		}
		if res.kind == resLambdaInvoke {
			result, err = s.invokeIntegration(ctx, function, payload, in, timeout)
		} else {
			result, err = s.invokeCallback(ctx, function, payload, in, token, timeout, heartbeat)
		}
	}
	if err != nil {
		return nil, ctxObj, err
	}
	result, err = s.selectResult(result, ctxObj)
	return result, ctxObj, err
}

// taskTimeouts resolves TimeoutSeconds(Path) and HeartbeatSeconds(Path);
// zero means no limit. The paths are resolved against the state's input
// after InputPath.
func (s *stateRun) taskTimeouts(ctxObj map[string]any) (timeout, heartbeat time.Duration, err error) {
	st := s.st
	resolve := func(static int64, p *path, field string) (time.Duration, error) {
		if p == nil {
			return time.Duration(static) * time.Second, nil
		}
		in, err := selectPath(st.inputPath, s.raw, ctxObj)
		if err != nil {
			return 0, err
		}
		v, err := p.lookup(in, ctxObj)
		n, ok := integer(v)
		if err != nil || !ok || n <= 0 {
			return 0, runtimeErr("The %s '%s' of state '%s' must reference a positive integer", field, p, st.name)
		}
		return time.Duration(n) * time.Second, nil
	}
	if timeout, err = resolve(st.timeoutSeconds, st.timeoutSecondsPath, "TimeoutSecondsPath"); err != nil {
		return 0, 0, err
	}
	if heartbeat, err = resolve(st.heartbeatSeconds, st.heartbeatSecondsPath, "HeartbeatSecondsPath"); err != nil {
		return 0, 0, err
	}
	if timeout > 0 && heartbeat >= timeout {
		return 0, 0, runtimeErr("The HeartbeatSeconds of state '%s' must be smaller than its TimeoutSeconds", st.name)
	}
	return timeout, heartbeat, nil
}

// invokeParameters extracts FunctionName and Payload from the parameters of
// a lambda:invoke task. A missing Payload invokes the function with {}.
func invokeParameters(in any) (string, json.RawMessage, error) {
	params, ok := in.(map[string]any)
	if !ok {
		return "", nil, runtimeErr("The parameters of a lambda:invoke task must be an object, got %s", jsonType(in))
	}
	name, ok := params["FunctionName"].(string)
	if !ok || name == "" {
		return "", nil, runtimeErr("The lambda:invoke parameter FunctionName must be a non-empty string, got %s", encodeJSON(params["FunctionName"]))
	}
	payload := json.RawMessage("{}")
	if p, ok := params["Payload"]; ok {
		payload = json.RawMessage(encodeJSON(p))
	}
	return functionName(name), payload, nil
}

func timeoutSeconds(d time.Duration) int64 { return int64(d / time.Second) }

// taskEvent records a task's events with the fields common to all of them.
func (s *stateRun) taskEvent(ev HistoryEvent) {
	ev.ResourceType, ev.Resource = s.st.resource.resourceType(), s.st.resource.resourceName()
	s.t.record(ev)
}

// invokeFunction runs a task whose Resource is a Lambda function ARN; the
// result is the function's response, and the history uses the
// LambdaFunction* events.
func (s *stateRun) invokeFunction(ctx context.Context, function string, in any, timeout time.Duration) (any, error) {
	payload := json.RawMessage(encodeJSON(in))
	arn := s.st.resource.arn
	s.t.record(HistoryEvent{Type: EventLambdaFunctionScheduled, Resource: arn, Input: string(payload), TimeoutSeconds: timeoutSeconds(timeout)})
	s.t.record(HistoryEvent{Type: EventLambdaFunctionStarted})
	out, timedOut, err := s.await(ctx, function, payload, timeout)
	switch {
	case timedOut:
		s.t.record(HistoryEvent{Type: EventLambdaFunctionTimedOut, Error: StatesTimeout})
		return nil, &stateError{name: StatesTimeout}
	case err != nil:
		if se, ok := err.(*stateError); ok {
			s.t.record(HistoryEvent{Type: EventLambdaFunctionFailed, Error: se.name, Cause: se.cause})
		}
		return nil, err
	}
	if len(out) > maxPayload {
		se := resultTooLarge(arn)
		s.t.record(HistoryEvent{Type: EventLambdaFunctionFailed, Error: se.name, Cause: se.cause})
		return nil, se
	}
	s.t.record(HistoryEvent{Type: EventLambdaFunctionSucceeded, Output: string(out)})
	return decodeJSON(out)
}

// invokeIntegration runs an arn:aws:states:::lambda:invoke task, whose
// result wraps the function's response as the Lambda Invoke API returns it.
func (s *stateRun) invokeIntegration(ctx context.Context, function string, payload json.RawMessage, params any, timeout time.Duration) (any, error) {
	s.taskEvent(HistoryEvent{Type: EventTaskScheduled, Region: s.t.x.e.region, Parameters: encodeJSON(params), TimeoutSeconds: timeoutSeconds(timeout)})
	s.taskEvent(HistoryEvent{Type: EventTaskStarted})
	out, timedOut, err := s.await(ctx, function, payload, timeout)
	switch {
	case timedOut:
		s.taskEvent(HistoryEvent{Type: EventTaskTimedOut, Error: StatesTimeout})
		return nil, &stateError{name: StatesTimeout}
	case err != nil:
		if se, ok := err.(*stateError); ok {
			s.taskEvent(HistoryEvent{Type: EventTaskFailed, Error: se.name, Cause: se.cause})
		}
		return nil, err
	}
	result := invokeResponse(out)
	encoded := encodeJSON(result)
	if len(encoded) > maxPayload {
		se := resultTooLarge(s.st.resource.resourceType())
		s.taskEvent(HistoryEvent{Type: EventTaskFailed, Error: se.name, Cause: se.cause})
		return nil, se
	}
	s.taskEvent(HistoryEvent{Type: EventTaskSucceeded, Output: encoded})
	return result, nil
}

// resultTooLarge is how a task fails whose result exceeds the payload
// quota, naming the resource as AWS does ("lambda" for lambda:invoke, the
// ARN for a plain function). Unlike an oversized state input or output, AWS
// lets Catch (even States.ALL) handle it; see the conformance cases.
func resultTooLarge(resource string) *stateError {
	return failf(StatesDataLimitExceeded, "The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", resource)
}

func invokeResponse(out json.RawMessage) map[string]any {
	payload, _ := decodeJSON(out) // validated by callFunction
	return map[string]any{"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": intNumber(200)}
}

// await invokes the function and waits for its response, the task timeout
// or cancellation. On timeout the invocation is left to finish on its own,
// as a real Lambda invocation would.
func (s *stateRun) await(ctx context.Context, function string, payload json.RawMessage, timeout time.Duration) (out json.RawMessage, timedOut bool, err error) {
	done := s.t.x.e.invokeAsync(function, payload)
	var timeoutC <-chan time.Time
	if timeout > 0 {
		timer := s.t.x.e.clock.NewTimer(timeout)
		defer timer.Stop()
		timeoutC = timer.C()
	}
	select {
	case r := <-done:
		if r.cancelled != nil {
			return nil, false, r.cancelled
		}
		if r.err != nil {
			return nil, false, r.err
		}
		return r.out, false, nil
	case <-timeoutC:
		return nil, true, nil
	case <-ctx.Done():
		return nil, false, context.Cause(ctx)
	}
}

// invokeCallback runs an arn:aws:states:::lambda:invoke.waitForTaskToken
// task: it invokes the function (which is expected to hand the token, from
// $$.Task.Token, to someone) and then waits for SendTaskSuccess or
// SendTaskFailure with that token. The token is registered before the
// invocation, so a handler may call back before it returns.
//
// The task fails if the invocation itself fails, if TimeoutSeconds elapses
// (States.Timeout), or if HeartbeatSeconds elapses without a
// SendTaskHeartbeat (States.HeartbeatTimeout).
func (s *stateRun) invokeCallback(ctx context.Context, function string, payload json.RawMessage, params any, token string, timeout, heartbeat time.Duration) (any, error) {
	e := s.t.x.e
	s.taskEvent(HistoryEvent{Type: EventTaskScheduled, Region: e.region, Parameters: encodeJSON(params),
		TimeoutSeconds: timeoutSeconds(timeout), HeartbeatSeconds: timeoutSeconds(heartbeat)})
	pt := e.registerTask(s.t.x, s.st.name, token, heartbeat)
	defer e.settle(token, tokenCompleted) // a no-op unless the task ends by cancellation
	s.taskEvent(HistoryEvent{Type: EventTaskStarted})

	invoked := e.invokeAsync(function, payload)
	var timeoutC, heartbeatC <-chan time.Time
	if timeout > 0 {
		timer := e.clock.NewTimer(timeout)
		defer timer.Stop()
		timeoutC = timer.C()
	}
	if pt.heartbeat != nil {
		heartbeatC = pt.heartbeat.C()
	}
	for {
		select {
		case r := <-invoked:
			invoked = nil
			if r.cancelled != nil {
				return nil, r.cancelled
			}
			if r.err == nil {
				s.taskEvent(HistoryEvent{Type: EventTaskSubmitted, Output: encodeJSON(invokeResponse(r.out))})
				e.markSubmitted(pt)
				continue
			}
			if e.settle(token, tokenCompleted) {
				s.taskEvent(HistoryEvent{Type: EventTaskFailed, Error: r.err.name, Cause: r.err.cause})
				return nil, r.err
			}
			// A callback claimed the token first; it is waiting in pt.result.
		case cb := <-pt.result:
			if cb.failure != nil {
				s.taskEvent(HistoryEvent{Type: EventTaskFailed, Error: cb.failure.name, Cause: cb.failure.cause})
				return nil, cb.failure
			}
			s.taskEvent(HistoryEvent{Type: EventTaskSucceeded, Output: cb.raw})
			return cb.output, nil
		case <-timeoutC:
			timeoutC = nil
			if e.settle(token, tokenTimedOut) {
				s.taskEvent(HistoryEvent{Type: EventTaskTimedOut, Error: StatesTimeout})
				return nil, &stateError{name: StatesTimeout}
			}
		case <-heartbeatC:
			heartbeatC = nil
			if e.settle(token, tokenTimedOut) {
				s.taskEvent(HistoryEvent{Type: EventTaskTimedOut, Error: StatesHeartbeatTimeout})
				return nil, &stateError{name: StatesHeartbeatTimeout}
			}
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}
