package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// StackDescriber is what reading a stack's outputs needs of CloudFormation;
// *cloudformation.Client implements it.
type StackDescriber interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// describeOutputs reads stack's outputs from CloudFormation, as
// `cdk deploy --outputs-file` would have written them.
func describeOutputs(ctx context.Context, cf StackDescriber, stack string) (map[string]string, error) {
	got, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, fmt.Errorf("describe stack %s: %w", stack, err)
	}
	if len(got.Stacks) != 1 {
		return nil, fmt.Errorf("describe stack %s: CloudFormation returned %d stacks", stack, len(got.Stacks))
	}
	out := map[string]string{}
	for _, o := range got.Stacks[0].Outputs {
		out[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return out, nil
}
