// Command hello is the cold-start baseline of the benchmarks: the smallest
// aws-lambda-go function, built and started exactly like the real ones.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context) (string, error) { return "hello world", nil })
}
