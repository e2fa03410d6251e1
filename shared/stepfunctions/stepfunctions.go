// Package stepfunctions adapts AWS Step Functions to the workflow: starting
// an execution per request and returning reviewers' decisions to the
// waiting task.
package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/statemachine"
)

// API is the part of the Step Functions client used here.
type API interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// Workflow starts and resumes executions of the egress state machine.
type Workflow struct {
	api             API
	stateMachineArn string
}

// New returns a Workflow for the state machine.
func New(api API, stateMachineArn string) *Workflow {
	return &Workflow{api: api, stateMachineArn: stateMachineArn}
}

// Start starts the execution named name (the request id). An execution of
// that name that already exists is success: a replayed SNS message must
// start nothing new. It returns the execution ARN when known.
func (w *Workflow) Start(ctx context.Context, name string, input any) (string, error) {
	b, err := json.Marshal(input)
	if err != nil {
		return "", fmt.Errorf("start execution %s: encode input: %w", name, err)
	}
	out, err := w.api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(w.stateMachineArn),
		Name:            aws.String(name),
		Input:           aws.String(string(b)),
	})
	var exists *types.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		return ExecutionArn(w.stateMachineArn, name), nil
	case err != nil:
		return "", fmt.Errorf("start execution %s: %w", name, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// ExecutionArn is the ARN of the execution named name, started or not.
func (w *Workflow) ExecutionArn(name string) string { return ExecutionArn(w.stateMachineArn, name) }

// ExecutionArn derives an execution's ARN from its state machine's.
func ExecutionArn(stateMachineArn, name string) string {
	const sm = ":stateMachine:"
	for i := 0; i+len(sm) <= len(stateMachineArn); i++ {
		if stateMachineArn[i:i+len(sm)] == sm {
			return stateMachineArn[:i] + ":execution:" + stateMachineArn[i+len(sm):] + ":" + name
		}
	}
	return ""
}

// ExecutionStatus returns the status of the execution arn (RUNNING,
// SUCCEEDED, FAILED, TIMED_OUT, ABORTED, ...); an execution that does not
// exist is ENOTFOUND.
func (w *Workflow) ExecutionStatus(ctx context.Context, arn string) (string, error) {
	out, err := w.api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *types.ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
		return "", egress.Errorf(egress.ENOTFOUND, "execution %s does not exist", arn)
	case err != nil:
		return "", fmt.Errorf("describe execution %s: %w", arn, err)
	}
	return string(out.Status), nil
}

// Resume sends a stage's decision to the task waiting on token. A token that
// is no longer waiting (used, timed out, execution ended) is a conflict the
// caller can show; other errors are returned wrapped.
func (w *Workflow) Resume(ctx context.Context, token string, out statemachine.DecisionOutput) error {
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode decision: %w", err)
	}
	_, err = w.api.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(b))})
	return taskErr(err)
}

func taskErr(err error) error {
	var gone *types.TaskDoesNotExist
	var timedOut *types.TaskTimedOut
	var invalid *types.InvalidToken
	switch {
	case err == nil:
		return nil
	case errors.As(err, &invalid):
		// Not a token Step Functions ever issued, or one it no longer
		// reads: no task will ever take it.
		return egress.Errorf(egress.ECONFLICT, "the workflow does not know this decision's task token")
	case errors.As(err, &timedOut):
		return egress.Errorf(egress.ECONFLICT, "the workflow stopped waiting for this decision (timed out)")
	case errors.As(err, &gone):
		return egress.Errorf(egress.ECONFLICT, "the workflow is no longer waiting for this decision")
	}
	// The SDK error text carries no token; keep the cause for the logs.
	return fmt.Errorf("send task result: %w", err)
}
