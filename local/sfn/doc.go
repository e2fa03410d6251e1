// Package sfn is a local, in-process AWS Step Functions engine.
//
// It runs Amazon States Language (ASL) state machines written in the JSONPath
// query language, following https://states-language.net/spec.html and the
// AWS Step Functions developer guide, and serves the Step Functions JSON 1.0
// HTTP API (see [Engine.Handler]) so that an unmodified aws-sdk-go-v2 sfn
// client can drive it through an endpoint override.
//
// Two kinds of user exist. Tests run the product's real workflow definition
// against in-process Lambda handlers and drive time with a [FakeClock], so
// retries, waits and timeouts are exercised exactly and without sleeping. The
// local embedded stack runs the whole product on a laptop with [RealClock].
//
// Task states support the Lambda integrations the product uses:
// arn:aws:states:::lambda:invoke, arn:aws:states:::lambda:invoke.waitForTaskToken
// and plain Lambda function ARNs. Functions are dispatched by name to an
// [Invoker]. Everything the engine does with time goes through a [Clock],
// except a function's own timeout (Options.FunctionTimeout), which is
// wall-clock time as in Lambda.
//
// The engine refuses what AWS refuses: Lambda's 6 MB request and response
// limits, the 256 KiB quota on task results and state input and output
// (States.DataLimitExceeded), and it announces every execution status
// change as the EventBridge event AWS sends (Options.OnStatusChange).
//
// Values flowing between states are decoded JSON (map[string]any, []any,
// string, bool, nil and json.Number) and are treated as immutable: every
// transformation builds new containers, which is what lets Parallel branches
// and Map iterations share their input safely.
package sfn
