package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// CheckID is the id of Check's middleware in a client's stack.
const CheckID = "egress/local/iam.Check"

// Check returns an APIOptions entry that makes a client act as function
// (its construct id): every call is mapped to the IAM actions and resources
// AWS authorises and refused before it is sent unless function's role
// allows them all. A call that cannot be mapped is refused too. S3 calls
// are checked as Authorizer.S3 says; when the S3 server refuses one, the
// error names the action and resource it was missing. A read of a missing
// object is "not found" only if the role may s3:ListBucket the bucket, and
// AccessDenied otherwise, as in AWS.
//
//	cfg.APIOptions = append(cfg.APIOptions, iam.Check(auth, "CopyToStaging"))
func Check(a *Authorizer, function string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if _, ok := a.policies.Functions[function]; !ok {
			return fmt.Errorf("iam: no function %q in the template (have %s)", function, strings.Join(sortedKeys(a.policies.Functions), ", "))
		}
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(CheckID, func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			service, op := middleware.GetServiceID(ctx), middleware.GetOperationName(ctx)
			requests, err := a.Requests(service, op, in.Parameters)
			if err != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			var allowed []Grant
			var serverDenied []error // refusals left to the S3 server
			for _, r := range requests {
				grants, err := a.evaluate(function, r.Action, r.Resource, r.Keys)
				if err != nil {
					if r.Server && a.S3 == S3Gaps {
						serverDenied = append(serverDenied, err)
						continue
					}
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
				allowed = append(allowed, grants...)
			}
			a.record(allowed)
			out, md, err := next.HandleInitialize(ctx, in)
			if err != nil && service == serviceS3 {
				err = nameRefusal(err, serverDenied)
				err = a.missingObject(function, in.Parameters, err)
			}
			return out, md, err
		}), middleware.After)
	}
}

// nameRefusal turns the S3 server's AccessDenied into an *AccessDeniedError
// naming the first request the role does not allow, wrapping the server's
// error. A refusal the role's statements do not explain is returned as is.
func nameRefusal(err error, denied []error) error {
	var api smithy.APIError
	if len(denied) == 0 || !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		return err
	}
	var named *AccessDeniedError
	if !errors.As(denied[0], &named) {
		return err
	}
	refusal := *named
	refusal.Server = err
	return &refusal
}

// missingObject applies S3's rule for an object that does not exist: the
// caller learns so (404 NoSuchKey, NotFound or NoSuchVersion) only if it
// may s3:ListBucket the bucket (a copy's source bucket); otherwise S3
// answers AccessDenied. MinIO answers 404 to any authenticated user, so
// the rule is applied here, whatever a.S3 says. The refusal replaces the
// 404 rather than wrapping it, so callers cannot mistake it for a missing
// object.
func (a *Authorizer) missingObject(function string, input any, err error) error {
	if !isMissingObject(err) {
		return err
	}
	bucket, ok := missingObjectBucket(input)
	if !ok {
		return err
	}
	// No s3:prefix: the request lists nothing, so a grant conditioned on a
	// prefix does not apply.
	grants, denied := a.evaluate(function, "s3:ListBucket", a.s3Bucket(bucket), nil)
	if denied != nil {
		return denied
	}
	a.record(grants)
	return err
}

// isMissingObject reports whether err is S3's 404 for a key or version
// that does not exist (NotFound is HeadObject's, which has no body).
func isMissingObject(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "NoSuchKey", "NotFound", "NoSuchVersion":
		return true
	}
	return false
}
