package sfn

import "time"

// EventType is the type of a history event, named as in the Step Functions
// API (types.HistoryEventType in aws-sdk-go-v2).
type EventType string

// History event types the engine records.
const (
	EventExecutionStarted   EventType = "ExecutionStarted"
	EventExecutionSucceeded EventType = "ExecutionSucceeded"
	EventExecutionFailed    EventType = "ExecutionFailed"
	EventExecutionAborted   EventType = "ExecutionAborted"
	EventExecutionTimedOut  EventType = "ExecutionTimedOut"

	EventTaskStateEntered     EventType = "TaskStateEntered"
	EventTaskStateExited      EventType = "TaskStateExited"
	EventPassStateEntered     EventType = "PassStateEntered"
	EventPassStateExited      EventType = "PassStateExited"
	EventChoiceStateEntered   EventType = "ChoiceStateEntered"
	EventChoiceStateExited    EventType = "ChoiceStateExited"
	EventWaitStateEntered     EventType = "WaitStateEntered"
	EventWaitStateExited      EventType = "WaitStateExited"
	EventSucceedStateEntered  EventType = "SucceedStateEntered"
	EventSucceedStateExited   EventType = "SucceedStateExited"
	EventFailStateEntered     EventType = "FailStateEntered"
	EventParallelStateEntered EventType = "ParallelStateEntered"
	EventParallelStateExited  EventType = "ParallelStateExited"
	EventMapStateEntered      EventType = "MapStateEntered"
	EventMapStateExited       EventType = "MapStateExited"

	EventTaskScheduled EventType = "TaskScheduled"
	EventTaskStarted   EventType = "TaskStarted"
	EventTaskSubmitted EventType = "TaskSubmitted"
	EventTaskSucceeded EventType = "TaskSucceeded"
	EventTaskFailed    EventType = "TaskFailed"
	EventTaskTimedOut  EventType = "TaskTimedOut"

	EventLambdaFunctionScheduled EventType = "LambdaFunctionScheduled"
	EventLambdaFunctionStarted   EventType = "LambdaFunctionStarted"
	EventLambdaFunctionSucceeded EventType = "LambdaFunctionSucceeded"
	EventLambdaFunctionFailed    EventType = "LambdaFunctionFailed"
	EventLambdaFunctionTimedOut  EventType = "LambdaFunctionTimedOut"

	EventParallelStateStarted   EventType = "ParallelStateStarted"
	EventParallelStateSucceeded EventType = "ParallelStateSucceeded"
	EventParallelStateFailed    EventType = "ParallelStateFailed"

	EventMapStateStarted       EventType = "MapStateStarted"
	EventMapStateSucceeded     EventType = "MapStateSucceeded"
	EventMapStateFailed        EventType = "MapStateFailed"
	EventMapIterationStarted   EventType = "MapIterationStarted"
	EventMapIterationSucceeded EventType = "MapIterationSucceeded"
	EventMapIterationFailed    EventType = "MapIterationFailed"
	EventMapIterationAborted   EventType = "MapIterationAborted"
)

// HistoryEvent is one entry of an execution's history.
//
// It is a flat record rather than AWS's one-details-struct-per-type shape so
// tests can filter and assert on it directly; the HTTP layer regroups the
// fields into the AWS "…EventDetails" objects. Which fields are set depends
// on Type:
//
//   - StateName: *StateEntered, *StateExited, MapIteration*
//   - Input: ExecutionStarted, *StateEntered, LambdaFunctionScheduled
//   - Output: ExecutionSucceeded, *StateExited, TaskSubmitted, TaskSucceeded,
//     LambdaFunctionSucceeded
//   - Error, Cause: ExecutionFailed/Aborted/TimedOut, TaskFailed,
//     TaskTimedOut, LambdaFunctionFailed/TimedOut, MapStateFailed,
//     ParallelStateFailed
//   - ResourceType, Resource: Task* (Resource is the Lambda ARN for
//     LambdaFunction*)
//   - Region, Parameters, TimeoutSeconds, HeartbeatSeconds: TaskScheduled
//     (and TimeoutSeconds for LambdaFunctionScheduled)
//   - Index: MapIteration*; Length: MapStateStarted
type HistoryEvent struct {
	ID              int64
	PreviousEventID int64
	Timestamp       time.Time
	Type            EventType

	StateName        string
	Input            string
	Output           string
	Error            string
	Cause            string
	ResourceType     string
	Resource         string
	Region           string
	Parameters       string
	TimeoutSeconds   int64
	HeartbeatSeconds int64
	Index            int
	Length           int
}

// enteredEvent and exitedEvent name a state's entry and exit events, e.g.
// TaskStateEntered.
func enteredEvent(typ string) EventType { return EventType(typ + "StateEntered") }
func exitedEvent(typ string) EventType  { return EventType(typ + "StateExited") }
