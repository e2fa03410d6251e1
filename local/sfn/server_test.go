package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// sdkClient returns a real aws-sdk-go-v2 Step Functions client talking to
// the engine's HTTP handler.
func sdkClient(t *testing.T, e *Engine) *awssfn.Client {
	t.Helper()
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return awssfn.New(awssfn.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	})
}

func TestHTTPWithSDK(t *testing.T) {
	sink := &tokenSink{}
	e, clock := testEngine(t, map[string]Handler{"notify": sink.handle}, 0)
	client := sdkClient(t, e)
	ctx := testCtx(t)

	created, err := client.CreateStateMachine(ctx, &awssfn.CreateStateMachineInput{
		Name:       aws.String("approval"),
		Definition: aws.String(sprintf(callbackDef, `,"HeartbeatSeconds":60`, "")),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/sfn"),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	if !created.CreationDate.Equal(epoch0) {
		t.Errorf("creationDate = %v, want %v", created.CreationDate, epoch0)
	}

	// Start, and repeat the start idempotently.
	start := &awssfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("req-1"), Input: aws.String(`{"x":1}`)}
	started, err := client.StartExecution(ctx, start)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	if !started.StartDate.Equal(epoch0) || !strings.HasSuffix(*started.ExecutionArn, ":execution:approval:req-1") {
		t.Errorf("StartExecution = %s at %v", *started.ExecutionArn, started.StartDate)
	}
	again, err := client.StartExecution(ctx, start)
	if err != nil || *again.ExecutionArn != *started.ExecutionArn {
		t.Errorf("idempotent StartExecution = %v, %v", again, err)
	}
	_, err = client.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("req-1"), Input: aws.String(`{"x":2}`)})
	var exists *types.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("StartExecution with other input = %v, want *types.ExecutionAlreadyExists", err)
	}

	pt, err := e.WaitForTask(ctx, *started.ExecutionArn, "T")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SendTaskHeartbeat(ctx, &awssfn.SendTaskHeartbeatInput{TaskToken: aws.String(pt.Token)}); err != nil {
		t.Errorf("SendTaskHeartbeat: %v", err)
	}
	running, err := client.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
	if err != nil {
		t.Fatalf("DescribeExecution: %v", err)
	}
	if running.Status != types.ExecutionStatusRunning || running.Output != nil || running.StopDate != nil || *running.Input != `{"x":1}` {
		t.Errorf("running execution = %+v", running)
	}
	clock.Advance(2 * time.Second)
	if _, err := client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(pt.Token), Output: aws.String(`{"ok":true}`)}); err != nil {
		t.Fatalf("SendTaskSuccess: %v", err)
	}
	wait(t, e, *started.ExecutionArn)
	done, err := client.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != types.ExecutionStatusSucceeded || *done.Output != `{"result":{"ok":true},"x":1}` ||
		!done.StopDate.Equal(epoch0.Add(2*time.Second)) || *done.Name != "req-1" {
		t.Errorf("finished execution = status %s output %s stop %v", done.Status, aws.ToString(done.Output), done.StopDate)
	}

	// Typed errors for used and unknown tokens.
	_, err = client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(pt.Token), Output: aws.String(`{}`)})
	var noTask *types.TaskDoesNotExist
	if !errors.As(err, &noTask) {
		t.Errorf("second SendTaskSuccess = %v, want *types.TaskDoesNotExist", err)
	}
	_, err = client.SendTaskFailure(ctx, &awssfn.SendTaskFailureInput{TaskToken: aws.String("bogus"), Error: aws.String("E")})
	if !errors.As(err, &noTask) {
		t.Errorf("SendTaskFailure with unknown token = %v, want *types.TaskDoesNotExist", err)
	}
	_, err = client.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: aws.String(*started.ExecutionArn + "-nope")})
	var noExec *types.ExecutionDoesNotExist
	if !errors.As(err, &noExec) {
		t.Errorf("DescribeExecution unknown = %v, want *types.ExecutionDoesNotExist", err)
	}

	// History, whole and paged in reverse.
	hist, err := client.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: started.ExecutionArn})
	if err != nil {
		t.Fatalf("GetExecutionHistory: %v", err)
	}
	var types_ []string
	for _, ev := range hist.Events {
		types_ = append(types_, string(ev.Type))
	}
	want := "ExecutionStarted,TaskStateEntered,TaskScheduled,TaskStarted,TaskSubmitted,TaskSucceeded,TaskStateExited,ExecutionSucceeded"
	if strings.Join(types_, ",") != want {
		t.Errorf("history = %s\nwant      %s", strings.Join(types_, ","), want)
	}
	first := hist.Events[0]
	if first.Id != 1 || first.PreviousEventId != 0 || !first.Timestamp.Equal(epoch0) || *first.ExecutionStartedEventDetails.Input != `{"x":1}` {
		t.Errorf("first event = %+v", first)
	}
	sched := hist.Events[2].TaskScheduledEventDetails
	if sched == nil || *sched.ResourceType != "lambda" || *sched.Resource != "invoke.waitForTaskToken" || *sched.HeartbeatInSeconds != 60 ||
		!strings.Contains(*sched.Parameters, pt.Token) {
		t.Errorf("TaskScheduled details = %+v", sched)
	}
	if d := hist.Events[5].TaskSucceededEventDetails; d == nil || *d.Output != `{"ok":true}` {
		t.Errorf("TaskSucceeded details = %+v", d)
	}
	if d := hist.Events[1].StateEnteredEventDetails; d == nil || *d.Name != "T" {
		t.Errorf("TaskStateEntered details = %+v", d)
	}
	var paged []int64
	var next *string
	for {
		page, err := client.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{
			ExecutionArn: started.ExecutionArn, MaxResults: 3, ReverseOrder: true, NextToken: next})
		if err != nil {
			t.Fatalf("GetExecutionHistory page: %v", err)
		}
		for _, ev := range page.Events {
			paged = append(paged, ev.Id)
		}
		if next = page.NextToken; next == nil {
			break
		}
	}
	if len(paged) != 8 || paged[0] != 8 || paged[7] != 1 {
		t.Errorf("reverse paged ids = %v", paged)
	}

	// A failed callback, a stopped execution, a timed-out token and listing.
	second, err := client.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("req-2"), Input: aws.String(`{"x":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	pt2, err := e.WaitForTask(ctx, *second.ExecutionArn, "T")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SendTaskFailure(ctx, &awssfn.SendTaskFailureInput{TaskToken: aws.String(pt2.Token), Error: aws.String("Rejected"), Cause: aws.String("no")}); err != nil {
		t.Fatal(err)
	}
	wait(t, e, *second.ExecutionArn)
	failed, _ := client.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: second.ExecutionArn})
	if failed.Status != types.ExecutionStatusFailed || aws.ToString(failed.Error) != "Rejected" || aws.ToString(failed.Cause) != "no" {
		t.Errorf("failed execution = %s %s %s", failed.Status, aws.ToString(failed.Error), aws.ToString(failed.Cause))
	}

	third, err := client.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("req-3"), Input: aws.String(`{"x":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	pt3, err := e.WaitForTask(ctx, *third.ExecutionArn, "T")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(60 * time.Second) // misses its heartbeat
	wait(t, e, *third.ExecutionArn)
	_, err = client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(pt3.Token), Output: aws.String(`{}`)})
	var timedOut *types.TaskTimedOut
	if !errors.As(err, &timedOut) {
		t.Errorf("SendTaskSuccess after a heartbeat timeout = %v, want *types.TaskTimedOut", err)
	}
	_, err = client.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(pt3.Token), Output: aws.String(`{`)})
	var badOutput *types.InvalidOutput
	if !errors.As(err, &badOutput) {
		t.Errorf("SendTaskSuccess with invalid output = %v, want *types.InvalidOutput", err)
	}

	fourth, err := client.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("req-4"), Input: aws.String(`{"x":4}`)})
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := client.StopExecution(ctx, &awssfn.StopExecutionInput{ExecutionArn: fourth.ExecutionArn, Error: aws.String("Cancelled")})
	if err != nil || !stopped.StopDate.Equal(clock.Now()) {
		t.Errorf("StopExecution = %v, %v", stopped, err)
	}
	list, err := client.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: created.StateMachineArn})
	if err != nil || len(list.Executions) != 4 || *list.Executions[0].Name != "req-4" || list.Executions[0].Status != types.ExecutionStatusAborted {
		t.Errorf("ListExecutions = %+v, %v", list, err)
	}
	onlyFailed, err := client.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: created.StateMachineArn, StatusFilter: types.ExecutionStatusFailed})
	if err != nil || len(onlyFailed.Executions) != 2 {
		t.Errorf("ListExecutions(FAILED) = %+v, %v (want req-2 and req-3)", onlyFailed, err)
	}
	paged1, err := client.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: created.StateMachineArn, MaxResults: 3})
	if err != nil || len(paged1.Executions) != 3 || paged1.NextToken == nil {
		t.Fatalf("ListExecutions page 1 = %+v, %v", paged1, err)
	}
	paged2, err := client.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: created.StateMachineArn, MaxResults: 3, NextToken: paged1.NextToken})
	if err != nil || len(paged2.Executions) != 1 || *paged2.Executions[0].Name != "req-1" {
		t.Errorf("ListExecutions page 2 = %+v, %v", paged2, err)
	}

	_, err = client.CreateStateMachine(ctx, &awssfn.CreateStateMachineInput{Name: aws.String("bad"), Definition: aws.String(`{"StartAt":"X","States":{}}`), RoleArn: aws.String("r")})
	var invalid *types.InvalidDefinition
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), `"States" must be a non-empty object`) {
		t.Errorf("CreateStateMachine(invalid) = %v, want *types.InvalidDefinition", err)
	}
	desc, err := client.DescribeStateMachine(ctx, &awssfn.DescribeStateMachineInput{StateMachineArn: created.StateMachineArn})
	if err != nil || *desc.Name != "approval" || *desc.RoleArn != "arn:aws:iam::123456789012:role/sfn" {
		t.Errorf("DescribeStateMachine = %+v, %v", desc, err)
	}
}

func TestHTTPProtocolErrors(t *testing.T) {
	e, _ := testEngine(t, nil, 0)
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	cases := []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{"POST", "AWSStepFunctions.DeleteActivity", `{}`, 400, `"__type":"UnknownOperationException"`},
		{"POST", "", `{}`, 400, `"__type":"UnknownOperationException"`},
		{"GET", "AWSStepFunctions.ListExecutions", ``, 405, `"__type":"MethodNotAllowed"`},
		{"POST", "AWSStepFunctions.StartExecution", `{"stateMachineArn":`, 400, `"__type":"SerializationException"`},
		{"POST", "AWSStepFunctions.StartExecution", `{}`, 400, `"__type":"ValidationException"`},
		{"POST", "AWSStepFunctions.DescribeExecution", `{"executionArn":"nope"}`, 400, `"__type":"InvalidArn"`},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, srv.URL, strings.NewReader(tc.body))
		req.Header.Set("X-Amz-Target", tc.target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.target, resp.StatusCode, body, tc.status, tc.want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
			t.Errorf("content type %q", ct)
		}
	}
}

// TestHTTPHistoryDetails checks that every event type the engine records
// reaches the SDK with its details in the field the SDK expects.
func TestHTTPHistoryDetails(t *testing.T) {
	e, clock := testEngine(t, map[string]Handler{"echo": echo, "fail": func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, &TaskFailure{ErrorName: "Bad", Cause: "worse"}
	}}, 0)
	client := sdkClient(t, e)
	ctx := testCtx(t)
	arn := start(t, e, `{"StartAt":"M","States":{
		"M":{"Type":"Map","ItemsPath":"$.xs","Next":"F","ItemProcessor":{"StartAt":"L","States":{
			"L":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","End":true}}}},
		"F":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"fail"},
			"Catch":[{"ErrorEquals":["Bad"],"Next":"T"}],"Next":"T"},
		"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:fail","End":true}}}`, `{"xs":[1]}`)
	wait(t, e, arn)
	slow := start(t, e, `{"StartAt":"W","TimeoutSeconds":1,"States":{"W":{"Type":"Wait","Seconds":5,"End":true}}}`, `{}`)
	if err := clock.WaitForTimers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	wait(t, e, slow)

	has := map[types.HistoryEventType]func(ev types.HistoryEvent) bool{
		types.HistoryEventTypeExecutionStarted:      func(ev types.HistoryEvent) bool { return ev.ExecutionStartedEventDetails != nil },
		types.HistoryEventTypeExecutionFailed:       func(ev types.HistoryEvent) bool { return *ev.ExecutionFailedEventDetails.Error == "Bad" },
		types.HistoryEventTypeExecutionTimedOut:     func(ev types.HistoryEvent) bool { return *ev.ExecutionTimedOutEventDetails.Error == StatesTimeout },
		types.HistoryEventTypeMapStateEntered:       func(ev types.HistoryEvent) bool { return *ev.StateEnteredEventDetails.Name == "M" },
		types.HistoryEventTypeMapStateStarted:       func(ev types.HistoryEvent) bool { return ev.MapStateStartedEventDetails.Length == 1 },
		types.HistoryEventTypeMapIterationStarted:   func(ev types.HistoryEvent) bool { return *ev.MapIterationStartedEventDetails.Name == "M" },
		types.HistoryEventTypeMapIterationSucceeded: func(ev types.HistoryEvent) bool { return ev.MapIterationSucceededEventDetails.Index == 0 },
		types.HistoryEventTypeLambdaFunctionScheduled: func(ev types.HistoryEvent) bool {
			d := ev.LambdaFunctionScheduledEventDetails
			return strings.HasSuffix(*d.Resource, ":function:echo") && *d.Input == "1" || strings.HasSuffix(*d.Resource, ":function:fail")
		},
		types.HistoryEventTypeLambdaFunctionSucceeded: func(ev types.HistoryEvent) bool { return *ev.LambdaFunctionSucceededEventDetails.Output == "1" },
		types.HistoryEventTypeLambdaFunctionFailed:    func(ev types.HistoryEvent) bool { return *ev.LambdaFunctionFailedEventDetails.Cause == "worse" },
		types.HistoryEventTypeMapStateExited:          func(ev types.HistoryEvent) bool { return *ev.StateExitedEventDetails.Output == "[1]" },
		types.HistoryEventTypeTaskFailed:              func(ev types.HistoryEvent) bool { return *ev.TaskFailedEventDetails.Error == "Bad" },
		types.HistoryEventTypeTaskStarted:             func(ev types.HistoryEvent) bool { return *ev.TaskStartedEventDetails.Resource == "invoke" },
		types.HistoryEventTypeWaitStateEntered:        func(ev types.HistoryEvent) bool { return *ev.StateEnteredEventDetails.Name == "W" },
	}
	seen := map[types.HistoryEventType]bool{}
	for _, a := range []string{arn, slow} {
		out, err := client.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: aws.String(a)})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out.Events {
			if check, ok := has[ev.Type]; ok {
				seen[ev.Type] = true
				if !check(ev) {
					t.Errorf("%s event has wrong details: %+v", ev.Type, ev)
				}
			}
		}
	}
	for typ := range has {
		if !seen[typ] {
			t.Errorf("no %s event in the histories", typ)
		}
	}
	// Without execution data, inputs and outputs are left out.
	out, err := client.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), IncludeExecutionData: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.Events[0].ExecutionStartedEventDetails; d == nil || d.Input != nil {
		t.Errorf("ExecutionStarted without data = %+v", d)
	}
}
