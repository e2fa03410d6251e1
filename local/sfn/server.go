package sfn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handler serves the Step Functions API over the AWS JSON 1.0 protocol:
// POST requests whose X-Amz-Target header is "AWSStepFunctions.<Operation>".
// Point an aws-sdk-go-v2 sfn client at it with an endpoint override; request
// signatures are not checked.
//
// Supported operations: CreateStateMachine, DescribeStateMachine,
// StartExecution, DescribeExecution, GetExecutionHistory, ListExecutions,
// StopExecution, SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat.
// Errors are {"__type": code, "message": …} with status 400 (500 for
// internal failures), which the SDK decodes into its typed errors.
func (e *Engine) Handler() http.Handler { return &server{e: e} }

type server struct{ e *Engine }

type operation func(s *server, ctx context.Context, body []byte) (any, error)

var operations = map[string]operation{
	"CreateStateMachine":   (*server).createStateMachine,
	"DescribeStateMachine": (*server).describeStateMachine,
	"StartExecution":       (*server).startExecution,
	"DescribeExecution":    (*server).describeExecution,
	"GetExecutionHistory":  (*server).getExecutionHistory,
	"ListExecutions":       (*server).listExecutions,
	"StopExecution":        (*server).stopExecution,
	"SendTaskSuccess":      (*server).sendTaskSuccess,
	"SendTaskFailure":      (*server).sendTaskFailure,
	"SendTaskHeartbeat":    (*server).sendTaskHeartbeat,
}

// maxRequest bounds request bodies: definitions may be up to 1 MiB.
const maxRequest = 2 << 20

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only POST is supported")
		return
	}
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	op := operations[name]
	if !ok || op == nil {
		writeError(w, http.StatusBadRequest, CodeUnknownOperation, fmt.Sprintf("unsupported operation %q", r.Header.Get("X-Amz-Target")))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", "reading the request body: "+err.Error())
		return
	}
	if len(body) > maxRequest {
		writeError(w, http.StatusRequestEntityTooLarge, CodeValidation, "request body too large")
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	resp, err := op(s, r.Context(), body)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			writeError(w, http.StatusBadRequest, ae.Code, ae.Message)
			return
		}
		s.e.log.Error("step functions API request failed", "operation", name, "error", err)
		writeError(w, http.StatusInternalServerError, CodeInternal, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", newUUID())
	w.WriteHeader(status)
	_, _ = io.WriteString(w, encodeJSON(v))
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("X-Amzn-Errortype", code)
	writeJSON(w, status, map[string]string{"__type": code, "message": message})
}

// decodeRequest unmarshals a request body, reporting malformed bodies as
// the serialization errors AWS returns.
func decodeRequest(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &APIError{Code: "SerializationException", Message: err.Error()}
	}
	return nil
}

func required(field, value string) error {
	if value == "" {
		return apiErrorf(CodeValidation, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
	}
	return nil
}

// epoch renders a time as AWS JSON protocols do: seconds since the Unix
// epoch as a number, with millisecond precision.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1000, 'f', -1, 64)), nil
}

func (s *server) createStateMachine(_ context.Context, body []byte) (any, error) {
	var req struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
		RoleArn    string `json:"roleArn"`
		Type       string `json:"type"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if err := errors.Join(required("name", req.Name), required("definition", req.Definition)); err != nil {
		return nil, err
	}
	if req.Type != "" && req.Type != "STANDARD" {
		return nil, apiErrorf("StateMachineTypeNotSupported", "only STANDARD state machines are supported by this local engine")
	}
	arn, err := s.e.createStateMachine(req.Name, []byte(req.Definition), req.RoleArn)
	if err != nil {
		return nil, err
	}
	s.e.mu.Lock()
	created := s.e.machines[arn].created
	s.e.mu.Unlock()
	return map[string]any{"stateMachineArn": arn, "creationDate": epoch(created)}, nil
}

func (s *server) describeStateMachine(_ context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineArn string `json:"stateMachineArn"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	s.e.mu.Lock()
	sm, err := s.e.machineLocked(req.StateMachineArn)
	s.e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"stateMachineArn": sm.arn, "name": sm.name, "status": "ACTIVE", "definition": sm.definition,
		"roleArn": sm.roleArn, "type": "STANDARD", "creationDate": epoch(sm.created),
	}, nil
}

func (s *server) startExecution(ctx context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineArn string  `json:"stateMachineArn"`
		Name            string  `json:"name"`
		Input           *string `json:"input"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if err := required("stateMachineArn", req.StateMachineArn); err != nil {
		return nil, err
	}
	input := "{}"
	if req.Input != nil {
		input = *req.Input
	}
	arn, start, err := s.e.StartExecution(ctx, req.StateMachineArn, req.Name, input)
	if err != nil {
		return nil, err
	}
	return map[string]any{"executionArn": arn, "startDate": epoch(start)}, nil
}

func (s *server) describeExecution(_ context.Context, body []byte) (any, error) {
	var req struct {
		ExecutionArn string `json:"executionArn"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	d, err := s.e.Describe(req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	resp := executionItem(d)
	resp["input"] = d.Input
	resp["inputDetails"] = map[string]bool{"included": true}
	resp["redriveCount"] = 0
	resp["redriveStatus"] = "NOT_REDRIVABLE"
	if d.Status == StatusSucceeded {
		resp["output"] = d.Output
		resp["outputDetails"] = map[string]bool{"included": true}
	}
	if d.Error != "" {
		resp["error"] = d.Error
	}
	if d.Cause != "" {
		resp["cause"] = d.Cause
	}
	return resp, nil
}

func executionItem(d ExecutionDescription) map[string]any {
	item := map[string]any{
		"executionArn": d.ExecutionArn, "stateMachineArn": d.StateMachineArn, "name": d.Name,
		"status": string(d.Status), "startDate": epoch(d.StartDate),
	}
	if !d.StopDate.IsZero() {
		item["stopDate"] = epoch(d.StopDate)
	}
	return item
}

// page applies maxResults and an opaque nextToken (an encoded offset) to n items.
func page(n int, maxResults int, nextToken string) (start, end int, next string, err error) {
	if maxResults <= 0 || maxResults > 1000 {
		maxResults = 100
	}
	if nextToken != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(nextToken)
		start, err = strconv.Atoi(string(raw))
		if derr != nil || err != nil || start < 0 || start > n {
			return 0, 0, "", apiErrorf(CodeInvalidToken, "Invalid Token: '%s'", nextToken)
		}
	}
	end = min(start+maxResults, n)
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return start, end, next, nil
}

func (s *server) getExecutionHistory(_ context.Context, body []byte) (any, error) {
	var req struct {
		ExecutionArn         string `json:"executionArn"`
		MaxResults           int    `json:"maxResults"`
		NextToken            string `json:"nextToken"`
		ReverseOrder         bool   `json:"reverseOrder"`
		IncludeExecutionData *bool  `json:"includeExecutionData"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	events, err := s.e.History(req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	if req.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	start, end, next, err := page(len(events), req.MaxResults, req.NextToken)
	if err != nil {
		return nil, err
	}
	withData := req.IncludeExecutionData == nil || *req.IncludeExecutionData
	out := make([]any, 0, end-start)
	for _, ev := range events[start:end] {
		out = append(out, eventJSON(ev, withData))
	}
	resp := map[string]any{"events": out}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp, nil
}

// eventJSON renders an event in the AWS shape, with its fields grouped in
// the "…EventDetails" object the SDK expects for its type.
func eventJSON(ev HistoryEvent, withData bool) map[string]any {
	out := map[string]any{
		"id": ev.ID, "previousEventId": ev.PreviousEventID,
		"timestamp": epoch(ev.Timestamp), "type": string(ev.Type),
	}
	d := map[string]any{}
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	data := func(k, v string) {
		if withData {
			d[k] = v
		}
		d[k+"Details"] = map[string]bool{"truncated": false}
	}
	errCause := func() { set("error", ev.Error); set("cause", ev.Cause) }
	resource := func() { set("resourceType", ev.ResourceType); set("resource", ev.Resource) }
	typ := string(ev.Type)
	var key string
	switch {
	case ev.Type == EventExecutionStarted:
		key = "executionStartedEventDetails"
		data("input", ev.Input)
	case ev.Type == EventExecutionSucceeded:
		key = "executionSucceededEventDetails"
		data("output", ev.Output)
	case ev.Type == EventExecutionFailed, ev.Type == EventExecutionAborted, ev.Type == EventExecutionTimedOut:
		key = "e" + typ[1:] + "EventDetails"
		errCause()
	case strings.HasSuffix(typ, "StateEntered"):
		key = "stateEnteredEventDetails"
		d["name"] = ev.StateName
		data("input", ev.Input)
	case strings.HasSuffix(typ, "StateExited"):
		key = "stateExitedEventDetails"
		d["name"] = ev.StateName
		data("output", ev.Output)
	case ev.Type == EventTaskScheduled:
		key = "taskScheduledEventDetails"
		resource()
		d["region"] = ev.Region
		d["parameters"] = ev.Parameters
		if !withData {
			d["parameters"] = "{}"
		}
		if ev.TimeoutSeconds > 0 {
			d["timeoutInSeconds"] = ev.TimeoutSeconds
		}
		if ev.HeartbeatSeconds > 0 {
			d["heartbeatInSeconds"] = ev.HeartbeatSeconds
		}
	case ev.Type == EventTaskStarted:
		key = "taskStartedEventDetails"
		resource()
	case ev.Type == EventTaskSubmitted, ev.Type == EventTaskSucceeded:
		key = "t" + typ[1:] + "EventDetails"
		resource()
		data("output", ev.Output)
	case ev.Type == EventTaskFailed, ev.Type == EventTaskTimedOut:
		key = "t" + typ[1:] + "EventDetails"
		resource()
		errCause()
	case ev.Type == EventLambdaFunctionScheduled:
		key = "lambdaFunctionScheduledEventDetails"
		d["resource"] = ev.Resource
		data("input", ev.Input)
		if ev.TimeoutSeconds > 0 {
			d["timeoutInSeconds"] = ev.TimeoutSeconds
		}
	case ev.Type == EventLambdaFunctionSucceeded:
		key = "lambdaFunctionSucceededEventDetails"
		data("output", ev.Output)
	case ev.Type == EventLambdaFunctionFailed, ev.Type == EventLambdaFunctionTimedOut:
		key = "l" + typ[1:] + "EventDetails"
		errCause()
	case ev.Type == EventMapStateStarted:
		key = "mapStateStartedEventDetails"
		d["length"] = ev.Length
	case strings.HasPrefix(typ, "MapIteration"):
		key = "m" + typ[1:] + "EventDetails"
		d["name"] = ev.StateName
		d["index"] = ev.Index
	}
	if key != "" {
		out[key] = d
	}
	return out
}

func (s *server) listExecutions(_ context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineArn string `json:"stateMachineArn"`
		StatusFilter    string `json:"statusFilter"`
		MaxResults      int    `json:"maxResults"`
		NextToken       string `json:"nextToken"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if err := required("stateMachineArn", req.StateMachineArn); err != nil {
		return nil, err
	}
	list, err := s.e.ListExecutions(req.StateMachineArn, ExecutionStatus(req.StatusFilter))
	if err != nil {
		return nil, err
	}
	start, end, next, err := page(len(list), req.MaxResults, req.NextToken)
	if err != nil {
		return nil, err
	}
	items := make([]any, 0, end-start)
	for _, d := range list[start:end] {
		items = append(items, executionItem(d))
	}
	resp := map[string]any{"executions": items}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp, nil
}

func (s *server) stopExecution(_ context.Context, body []byte) (any, error) {
	var req struct {
		ExecutionArn string `json:"executionArn"`
		Error        string `json:"error"`
		Cause        string `json:"cause"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if err := s.e.StopExecution(req.ExecutionArn, req.Error, req.Cause); err != nil {
		return nil, err
	}
	d, err := s.e.Describe(req.ExecutionArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"stopDate": epoch(d.StopDate)}, nil
}

type taskRequest struct {
	TaskToken string `json:"taskToken"`
	Output    string `json:"output"`
	Error     string `json:"error"`
	Cause     string `json:"cause"`
}

func (s *server) sendTaskSuccess(_ context.Context, body []byte) (any, error) {
	var req taskRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	return struct{}{}, s.e.SendTaskSuccess(req.TaskToken, req.Output)
}

func (s *server) sendTaskFailure(_ context.Context, body []byte) (any, error) {
	var req taskRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	return struct{}{}, s.e.SendTaskFailure(req.TaskToken, req.Error, req.Cause)
}

func (s *server) sendTaskHeartbeat(_ context.Context, body []byte) (any, error) {
	var req taskRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	return struct{}{}, s.e.SendTaskHeartbeat(req.TaskToken)
}
