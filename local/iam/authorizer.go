package iam

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/smithy-go"
)

// Keys are the condition keys of a request and their values, such as
// "ses:FromAddress". Keys are matched case-insensitively.
type Keys map[string]string

func (k Keys) get(key string) (string, bool) {
	for name, v := range k {
		if strings.EqualFold(name, key) {
			return v, true
		}
	}
	return "", false
}

// AccessDeniedError is a request the function's role does not allow. Its
// text is AWS's.
type AccessDeniedError struct {
	Function  string // construct id of the function
	Principal string // the role session ARN
	Action    string
	Resource  string
	// Deny is the explicit Deny statement that refused the request, if any.
	Deny *Statement
	// Code is the error code the service would return.
	Code string
	// Server is the S3 server's own refusal, when it was the server that
	// refused and this error only names the action and resource.
	Server error
}

func (e *AccessDeniedError) Error() string {
	why := "because no identity-based policy allows the " + e.Action + " action"
	if e.Deny != nil {
		why = "with an explicit deny in an identity-based policy"
	}
	msg := "User: " + e.Principal + " is not authorized to perform: " + e.Action + " on resource: " + e.Resource + " " + why
	if e.Server != nil {
		msg += " (refused by the S3 server: " + e.Server.Error() + ")"
	}
	return msg
}

// Unwrap returns the server's refusal, if any.
func (e *AccessDeniedError) Unwrap() error { return e.Server }

// ErrorCode, ErrorMessage and ErrorFault make the error a smithy.APIError,
// so callers handle it like the service's own refusal.
func (e *AccessDeniedError) ErrorCode() string    { return cmp.Or(e.Code, "AccessDeniedException") }
func (e *AccessDeniedError) ErrorMessage() string { return e.Error() }

// ErrorFault reports the error as the client's fault.
func (e *AccessDeniedError) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

var _ smithy.APIError = (*AccessDeniedError)(nil)

// Grant is one action on one resource pattern a statement allows.
type Grant struct {
	Function  string
	Policy    string
	Statement int
	Sid       string
	Action    string
	Resource  string
}

func (g Grant) String() string {
	return fmt.Sprintf("%s: %s on %s (%s statement %d)", g.Function, g.Action, g.Resource, g.Policy, g.Statement)
}

// Authorizer evaluates requests against Policies and records which grants
// allowed them. It is safe for concurrent use.
type Authorizer struct {
	policies *Policies

	// TaskToken returns the ARN of the state machine whose execution issued
	// a task token: Step Functions authorises SendTaskSuccess,
	// SendTaskFailure and SendTaskHeartbeat against it. Without it those
	// calls are refused.
	TaskToken func(token string) (stateMachineARN string, err error)

	// S3 says which S3 requests Check evaluates in process; the rest are
	// left to the S3 server. Default S3Gaps.
	S3 S3Mode

	mu   sync.Mutex
	used map[Grant]int
}

// S3Mode says how Check treats S3 calls.
type S3Mode int

const (
	// S3Gaps checks in process only the actions MinIO does not enforce as
	// AWS does, and leaves the others to MinIO and the function's user.
	S3Gaps S3Mode = iota
	// S3All checks every S3 request in process as well, for clients that
	// do not use the function's own MinIO user.
	S3All
)

// NewAuthorizer returns an Authorizer of p.
func NewAuthorizer(p *Policies) *Authorizer {
	return &Authorizer{policies: p, used: map[Grant]int{}}
}

// Policies returns the policies a is checking.
func (a *Authorizer) Policies() *Policies { return a.policies }

// Authorize reports whether function may perform action on resource with
// the given condition keys: nil, or an *AccessDeniedError naming the
// action and resource. An unknown function is an error too.
func (a *Authorizer) Authorize(function, action, resource string, keys Keys) error {
	allowed, err := a.evaluate(function, action, resource, keys)
	if err != nil {
		return err
	}
	a.record(allowed)
	return nil
}

// evaluate returns the grants that allow the request, or why it is refused.
func (a *Authorizer) evaluate(function, action, resource string, keys Keys) ([]Grant, error) {
	role, ok := a.policies.Functions[function]
	if !ok {
		return nil, fmt.Errorf("iam: no function %q in the template (have %s)", function, strings.Join(sortedKeys(a.policies.Functions), ", "))
	}
	var allowed []Grant
	for i := range role.Statements {
		st := &role.Statements[i]
		if !conditionsHold(st.Conditions, keys) {
			continue
		}
		for _, ap := range st.Actions {
			if !matchAction(ap, action) {
				continue
			}
			for _, rp := range st.Resources {
				if !match(rp, resource) {
					continue
				}
				if st.Effect == Deny {
					return nil, &AccessDeniedError{Function: function, Principal: role.Principal, Action: action, Resource: resource, Deny: st, Code: errorCode(action)}
				}
				allowed = append(allowed, Grant{Function: function, Policy: st.Policy, Statement: st.Index, Sid: st.Sid, Action: ap, Resource: rp})
			}
		}
	}
	if len(allowed) == 0 {
		return nil, &AccessDeniedError{Function: function, Principal: role.Principal, Action: action, Resource: resource, Code: errorCode(action)}
	}
	return allowed, nil
}

func (a *Authorizer) record(grants []Grant) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, g := range grants {
		a.used[g]++
	}
}

// errorCode is the code a service returns for an authorization failure.
func errorCode(action string) string {
	service, _, _ := strings.Cut(strings.ToLower(action), ":")
	switch service {
	case "sns":
		return "AuthorizationError"
	case "s3":
		return "AccessDenied"
	}
	return "AccessDeniedException"
}

// Grants returns every Allow grant of the function's checked statements,
// in template order; all functions if function is "".
func (a *Authorizer) Grants(function string) []Grant {
	var out []Grant
	for _, fn := range sortedKeys(a.policies.Functions) {
		if function != "" && fn != function {
			continue
		}
		for _, st := range a.policies.Functions[fn].Statements {
			if st.Effect != Allow {
				continue
			}
			for _, ap := range st.Actions {
				for _, rp := range st.Resources {
					out = append(out, Grant{Function: fn, Policy: st.Policy, Statement: st.Index, Sid: st.Sid, Action: ap, Resource: rp})
				}
			}
		}
	}
	return out
}

// Used returns the grants that allowed at least one request so far.
func (a *Authorizer) Used() []Grant {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Grant
	for _, g := range a.Grants("") {
		if a.used[g] > 0 {
			out = append(out, g)
		}
	}
	return out
}

// Unused returns the grants no request has used so far: actions a role is
// granted but that nothing exercised.
func (a *Authorizer) Unused() []Grant {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Grant
	for _, g := range a.Grants("") {
		if a.used[g] == 0 {
			out = append(out, g)
		}
	}
	return out
}

func conditionsHold(conds []Condition, keys Keys) bool {
	for _, c := range conds {
		if !conditionHolds(c, keys) {
			return false
		}
	}
	return true
}

// conditionHolds evaluates one condition as IAM does for a single-valued
// key: a missing key fails the positive operators and satisfies the
// negated ones.
func conditionHolds(c Condition, keys Keys) bool {
	v, ok := keys.get(c.Key)
	negated := strings.Contains(c.Operator, "Not")
	if !ok {
		return negated
	}
	hit := slices.ContainsFunc(c.Values, func(want string) bool {
		switch c.Operator {
		case "StringEquals", "StringNotEquals":
			return v == want
		case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
			return strings.EqualFold(v, want)
		case "StringLike", "StringNotLike":
			return match(want, v)
		}
		return false
	})
	return hit != negated
}

// matchAction matches an action pattern, case-insensitively.
func matchAction(pattern, action string) bool {
	return match(strings.ToLower(pattern), strings.ToLower(action))
}

// match reports whether s matches pattern, where "*" matches any run of
// characters and "?" any one character.
func match(patternText, text string) bool {
	// Iterative glob with backtracking to the last "*", over runes so "?"
	// matches one character of a non-ASCII key.
	pattern, s := []rune(patternText), []rune(text)
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
