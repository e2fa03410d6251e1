package sfn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tre-egress/egress/local/sfn"
)

// A test drives a workflow with in-process handlers and a fake clock: the
// handler fails once, the retry's back-off is observed and skipped exactly,
// and a callback task is completed as the external approver would.
func Example() {
	clock := sfn.NewFakeClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	calls := 0
	engine := sfn.New(sfn.Options{
		Clock: clock,
		Invoke: sfn.Dispatch(map[string]sfn.Handler{
			"stage": func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
				if calls++; calls == 1 {
					return nil, &sfn.TaskFailure{ErrorName: "TransientError", Cause: "try again"}
				}
				return json.RawMessage(`{"files":3}`), nil
			},
			"ask": func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
				return json.RawMessage(`{}`), nil // would store $$.Task.Token for the approver
			},
		}),
	})
	defer engine.Close()

	machine, err := engine.CreateStateMachine("egress", []byte(`{
		"StartAt": "Stage",
		"States": {
			"Stage": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
				"Parameters": {"FunctionName": "stage", "Payload.$": "$"},
				"ResultSelector": {"files.$": "$.Payload.files"}, "ResultPath": "$.staged",
				"Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 2}],
				"Next": "Approve"},
			"Approve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
				"Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
				"ResultPath": "$.decision", "End": true}
		}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	exec, _, err := engine.StartExecution(ctx, machine, "request-1", `{"id":"r1"}`)
	if err != nil {
		fmt.Println(err)
		return
	}

	if err := clock.WaitForTimers(ctx, 1); err != nil { // the retry back-off
		fmt.Println(err)
		return
	}
	fmt.Println("back-off:", clock.PendingDurations()[0])
	clock.AdvanceToNext()

	task, err := engine.WaitForTask(ctx, exec, "Approve")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := engine.SendTaskSuccess(task.Token, `"APPROVED"`); err != nil {
		fmt.Println(err)
		return
	}
	done, err := engine.Wait(ctx, exec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(done.Status, done.Output)
	// Output:
	// back-off: 2s
	// SUCCEEDED {"decision":"APPROVED","id":"r1","staged":{"files":3}}
}
